import Testing
import BerthEngine
#if canImport(Glibc)
import Glibc
#endif

/// `GoRegexp`: Go's RE2 syntax, a yes/no unanchored match in linear time,
/// Go's error wording.
@Suite("Go regular expressions")
struct GoRegexpTests {
    private func match(_ pattern: String, _ text: String) throws -> Bool {
        try GoRegexp(pattern).matches(text)
    }

    private func seconds(_ body: () throws -> Void) rethrows -> Double {
        var a = timespec(), b = timespec()
        clock_gettime(CLOCK_MONOTONIC, &a)
        try body()
        clock_gettime(CLOCK_MONOTONIC, &b)
        return Double(b.tv_sec - a.tv_sec) + Double(b.tv_nsec - a.tv_nsec) / 1e9
    }

    @Test("what Docker users write matches as Go's MatchString does")
    func syntax() throws {
        let cases: [(String, String, Bool)] = [
            ("web", "myweb1", true), ("^web$", "web", true), ("^web$", "web1", false), ("^/web", "/web", true),
            ("w.b", "wxb", true), ("w.b", "w\nb", false), ("(?s)w.b", "w\nb", true),
            ("[ok]$", "ok", true), ("[^a-z]", "abc", false), ("[^a-z]", "ab1", true), ("[]a]", "]", true),
            ("[a-]", "-", true), ("\\d+", "app12", true), ("^\\d+$", "app12", false), ("\\w+-\\w+", "my-app", true),
            ("\\s", "a b", true), ("\\S", " ", false), ("\\D", "123", false), ("\\W", "a_1", false),
            ("(?i)WEB", "web", true), ("WEB", "web", false), ("(?i:W)EB", "wEB", true), ("(?i:W)EB", "web", false),
            ("[[:alpha:]]+[[:digit:]]", "db1", true), ("[[:^alpha:]]", "abc", false), ("[[:upper:]]", "abc", false),
            ("(?i)[[:upper:]]", "abc", true), ("(?i)[^a]", "A", false),
            ("^(web|db)+$", "webdbweb", true), ("^(web|db)+$", "webd", false), ("(o[k]){1}", "ok", true),
            ("^a{2,3}$", "aaa", true), ("^a{2,3}$", "aaaa", false), ("^a{2,}$", "aaaaaa", true), ("^a{2}$", "a", false),
            ("a{,2}", "a{,2}", true), ("x{", "x{", true), ("^a*?b+?c??$", "aabbc", true), ("^a*?$", "aab", false),
            ("\\bdb\\b", "my db", true), ("\\bdb\\b", "mydb", false), ("\\Bdb", "mydb", true), ("\\Adb\\z", "db", true),
            ("(?m)^db$", "web\ndb\n", true), ("^db$", "web\ndb", false), ("(?P<n>db)", "db", true), ("(?<n>db)", "db", true),
            ("(?:ab)+", "abab", true), ("\\x41\\x{42}\\101", "ABA", true), ("\\.", "a.b", true), ("\\.", "ab", false),
            ("\\Qa.b\\E", "a.b", true), ("\\Qa.b\\E", "axb", false), ("\\pL+", "é", true), ("\\p{Lu}", "abc", false),
            ("\\PN", "123", false), ("[\\p{Nd}x]", "x", true), ("", "anything", true), ("a|", "zzz", true),
            ("(?U)a+", "a", true), ("(?i)É", "é", true), ("é+", "café", true), ("^.{4}$", "café", true),
        ]
        for (pattern, text, expected) in cases {
            #expect(try match(pattern, text) == expected, "\(pattern) against \(text.debugDescription)")
        }
    }

    @Test("invalid patterns fail with Go's error codes")
    func errors() {
        let cases: [(String, String)] = [
            ("(", "error parsing regexp: missing closing ): `(`"),
            ("a)", "error parsing regexp: unexpected ): `a)`"),
            ("[a", "error parsing regexp: missing closing ]: `[a`"),
            ("*a", "error parsing regexp: missing argument to repetition operator: `*`"),
            ("a**", "error parsing regexp: invalid nested repetition operator: `**`"),
            ("a{1001}", "error parsing regexp: invalid repeat count: `{1001}`"),
            ("a{3,2}", "error parsing regexp: invalid repeat count: `{3,2}`"),
            ("[z-a]", "error parsing regexp: invalid character class range: `z-a`"),
            ("\\1", "error parsing regexp: invalid escape sequence: `\\1`"),
            ("\\q", "error parsing regexp: invalid escape sequence: `\\q`"),
            ("a\\", "error parsing regexp: trailing backslash at end of expression: ``"),
            ("(?=a)", "error parsing regexp: invalid or unsupported Perl syntax: `(?=`"),
            ("(?P<>a)", "error parsing regexp: invalid named capture: `(?P<>`"),
            ("\\p{Greek}", "error parsing regexp: invalid character class range: `\\p{Greek}`"),
            ("[[:foo:]]", "error parsing regexp: invalid character class range: `[:foo:]`"),
        ]
        for (pattern, message) in cases {
            do {
                _ = try GoRegexp(pattern)
                Issue.record("\(pattern) compiled")
            } catch {
                #expect(error.description == message, "\(pattern)")
            }
        }
        #expect(throws: GoRegexpError.self) { try GoRegexp("((a{1000}){1000}){1000}") }
        #expect(throws: GoRegexpError.self) { try GoRegexp(String(repeating: "(", count: 5000)) }
    }

    @Test("hostile patterns finish in linear time: ^(a|a)*$, nested quantifiers, long names")
    func linear() throws {
        let nearMiss = String(repeating: "a", count: 31) + "!"
        let long = String(repeating: "a", count: 20_000) + "!"
        var results: [Bool] = []
        let elapsed = try seconds {
            for pattern in ["^(a|a)*$", "^(a+)+$", "^(a*)*$", "^(a|aa)+$", "^((a+)*)+b$", "(x+x+)+y", "^(a?){31}a{31}$"] {
                results.append(try match(pattern, nearMiss))
                results.append(try match(pattern, long))
            }
        }
        #expect(results.allSatisfy { !$0 })
        #expect(elapsed < 5, "took \(elapsed) s")
        #expect(try match("^(a|a)*$", String(repeating: "a", count: 31)))
        #expect(try match("^(a?){31}a{31}$", String(repeating: "a", count: 31)))
    }
}
