/// Docker-style generated names (`adjective_surname`), and name validation.
public enum ContainerNames {
    static let adjectives = [
        "admiring", "agitated", "amazing", "angry", "awesome", "blissful", "bold", "brave", "busy", "charming",
        "clever", "cool", "compassionate", "competent", "confident", "crazy", "dazzling", "determined", "eager",
        "ecstatic", "elastic", "elated", "elegant", "epic", "exciting", "fervent", "festive", "focused",
        "friendly", "frosty", "funny", "gallant", "gifted", "goofy", "gracious", "happy", "hopeful", "hungry",
        "infallible", "inspiring", "intelligent", "jolly", "jovial", "keen", "kind", "laughing", "loving",
        "lucid", "magical", "modest", "musing", "mystifying", "naughty", "nervous", "nice", "nifty", "nostalgic",
        "objective", "optimistic", "peaceful", "pedantic", "pensive", "practical", "priceless", "quirky",
        "quizzical", "relaxed", "reverent", "romantic", "serene", "sharp", "silly", "sleepy", "stoic", "strange",
        "stupefied", "suspicious", "sweet", "tender", "thirsty", "trusting", "unruffled", "upbeat", "vibrant",
        "vigilant", "vigorous", "wizardly", "wonderful", "xenodochial", "youthful", "zealous", "zen",
    ]
    static let surnames = [
        "albattani", "allen", "archimedes", "babbage", "banach", "bardeen", "bell", "bhabha", "black", "bohr",
        "booth", "borg", "bose", "brahmagupta", "brown", "carson", "cerf", "chandrasekhar", "clarke", "curie",
        "darwin", "davinci", "dijkstra", "einstein", "elion", "engelbart", "euclid", "euler", "faraday",
        "fermat", "fermi", "feynman", "franklin", "galileo", "gauss", "goldberg", "goodall", "hamilton",
        "hawking", "heisenberg", "hodgkin", "hopper", "hypatia", "jackson", "johnson", "kapitsa", "keller",
        "kepler", "knuth", "lamarr", "lamport", "leakey", "lovelace", "lumiere", "mayer", "mccarthy",
        "mcclintock", "meitner", "mendel", "merkle", "morse", "napier", "newton", "nobel", "noether", "pascal",
        "pasteur", "payne", "perlman", "pike", "poincare", "ptolemy", "raman", "ritchie", "rosalind", "sammet",
        "shannon", "shockley", "sinoussi", "stonebraker", "swartz", "tesla", "thompson", "torvalds", "turing",
        "varahamihira", "villani", "wescoff", "wiles", "williams", "wozniak", "wright", "yalow", "yonath",
    ]

    /// A random `adjective_surname`; Docker never makes `boring_wozniak`.
    /// From the second try on (`retry` > 0) a random digit is appended, as
    /// Docker does, so a crowded store still finds a free name quickly.
    public static func generate(retry: Int = 0) -> String {
        let name = adjectives[RandomID.below(adjectives.count)] + "_" + surnames[RandomID.below(surnames.count)]
        if name == "boring_wozniak" { return generate(retry: retry) }
        return retry > 0 ? name + String(RandomID.below(10)) : name
    }

    /// How many generated names a create tries before it falls back to the ID.
    public static let tries = 6

    /// The first free name for a new container: `generate(0)`,
    /// `generate(1)`… up to `tries` of them, then the container's short ID
    /// and last its full ID (Docker's order). `isTaken` is asked under the
    /// containers lock, so the answer cannot go stale before the name is
    /// recorded. Nil only if even the IDs are taken (by names a user chose).
    public static func firstFree(
        id: String, isTaken: (String) -> Bool,
        generate: (Int) -> String = { generate(retry: $0) }
    ) -> String? {
        for retry in 0..<tries {
            let name = generate(retry)
            if !isTaken(name) { return name }
        }
        return [String(id.prefix(12)), id].first { !isTaken($0) }
    }

    /// The longest name accepted (a DNS name's limit).
    public static let maxLength = 253

    /// Checks `[a-zA-Z0-9][a-zA-Z0-9_.-]+`, Docker's rule, with Docker's
    /// message, and the length limit above.
    public static func validate(_ name: String) throws(BerthError) {
        let chars = Array(name)
        let ok =
            chars.count >= 2 && chars[0].isASCII && (chars[0].isLetter || chars[0].isNumber)
            && chars.dropFirst().allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) }
        if !ok {
            throw .invalid(
                "Invalid container name (\(shown(name))), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed; pick another --name")
        }
        // Docker has no limit, but the name is also the container's host name
        // on its network (peers' /etc/hosts), and a host name longer than 253
        // characters can never be resolved: refuse it here, not at lookup.
        if chars.count > maxLength {
            throw .invalid(
                "Invalid container name (\(shown(name))): a name may have at most \(maxLength) characters; pick a shorter --name"
            )
        }
    }
}
