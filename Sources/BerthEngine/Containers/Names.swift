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
    public static func generate() -> String {
        let name = adjectives[RandomID.below(adjectives.count)] + "_" + surnames[RandomID.below(surnames.count)]
        return name == "boring_wozniak" ? generate() : name
    }

    /// The longest name accepted (a DNS name's limit).
    public static let maxLength = 253

    /// Checks `[a-zA-Z0-9][a-zA-Z0-9_.-]+`, Docker's rule, with Docker's
    /// message, and the length limit above.
    public static func validate(_ name: String) throws(BerthError) {
        let chars = Array(name)
        let ok = chars.count >= 2 && chars[0].isASCII && (chars[0].isLetter || chars[0].isNumber)
            && chars.dropFirst().allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) }
        if !ok {
            let shown = chars.count > 80 ? String(chars.prefix(80)) + "…" : name
            throw BerthError("Invalid container name (\(shown)), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed; pick another --name")
        }
        // Docker has no limit, but the name is also the container's host name
        // on its network (peers' /etc/hosts), and a host name longer than 253
        // characters can never be resolved: refuse it here, not at lookup.
        if chars.count > maxLength {
            throw BerthError("Invalid container name (\(String(chars.prefix(40)))…, \(chars.count) characters): a name may have at most \(maxLength) characters; pick a shorter --name")
        }
    }
}
