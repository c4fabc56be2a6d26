//! Shell-style patterns with the semantics of Go's `path.Match`, and the
//! endpoint path and domain matching rules built on them.
//!
//! `*` matches any run of characters other than `/`, `?` one such
//! character, `[...]` a character class (ranges `a-z`, negation with `^`),
//! and `\` escapes the next character. A malformed pattern matches nothing.

/// Whether `name` matches `pattern` (Go `path.Match`; a malformed pattern
/// is no match).
pub(crate) fn path_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // Validate the whole pattern first: Go reports ErrBadPattern for a
    // malformed pattern even when the name fails to match earlier.
    if !pattern_is_valid(&p) {
        return false;
    }
    match_from(&p, &n)
}

fn pattern_is_valid(p: &[char]) -> bool {
    let mut i = 0;
    while i < p.len() {
        match p.get(i) {
            Some('\\') => {
                if i + 1 >= p.len() {
                    return false;
                }
                i += 2;
            }
            Some('[') => match class_end(p, i) {
                Some(end) => i = end,
                None => return false,
            },
            _ => i += 1,
        }
    }
    true
}

/// Index just past the `]` closing the class opened at `start`, if the
/// class is well formed.
fn class_end(p: &[char], start: usize) -> Option<usize> {
    let mut i = start + 1;
    if p.get(i) == Some(&'^') {
        i += 1;
    }
    let mut first = true;
    loop {
        let c = *p.get(i)?;
        if c == ']' && !first {
            return Some(i + 1);
        }
        first = false;
        // A range bound, possibly escaped.
        let (_, next) = class_char(p, i)?;
        i = next;
        if p.get(i) == Some(&'-') {
            let (_, next) = class_char(p, i + 1)?;
            i = next;
        }
    }
}

fn class_char(p: &[char], i: usize) -> Option<(char, usize)> {
    match p.get(i)? {
        '\\' => p.get(i + 1).map(|c| (*c, i + 2)),
        '-' | ']' => None,
        c => Some((*c, i + 1)),
    }
}

fn class_matches(p: &[char], start: usize, c: char) -> bool {
    let mut i = start + 1;
    let negated = p.get(i) == Some(&'^');
    if negated {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while let Some(&pc) = p.get(i) {
        if pc == ']' && !first {
            break;
        }
        first = false;
        let Some((lo, next)) = class_char(p, i) else {
            return false;
        };
        i = next;
        let mut hi = lo;
        if p.get(i) == Some(&'-') {
            if let Some((h, next)) = class_char(p, i + 1) {
                hi = h;
                i = next;
            }
        }
        if lo <= c && c <= hi {
            matched = true;
        }
    }
    matched != negated
}

fn match_from(p: &[char], n: &[char]) -> bool {
    // Iterative matching with backtracking over the last `*`.
    let (mut pi, mut ni) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    loop {
        if pi < p.len() {
            match p.get(pi) {
                Some('*') => {
                    // Collapse consecutive stars.
                    let mut next = pi;
                    while p.get(next) == Some(&'*') {
                        next += 1;
                    }
                    star = Some((next, ni));
                    pi = next;
                    continue;
                }
                Some('?') => {
                    if let Some(&c) = n.get(ni) {
                        if c != '/' {
                            pi += 1;
                            ni += 1;
                            continue;
                        }
                    }
                }
                Some('[') => {
                    if let (Some(&c), Some(end)) = (n.get(ni), class_end(p, pi)) {
                        if c != '/' && class_matches(p, pi, c) {
                            pi = end;
                            ni += 1;
                            continue;
                        }
                    }
                }
                Some('\\') => {
                    if let (Some(&pc), Some(&c)) = (p.get(pi + 1), n.get(ni)) {
                        if pc == c {
                            pi += 2;
                            ni += 1;
                            continue;
                        }
                    }
                }
                Some(&pc) => {
                    if n.get(ni) == Some(&pc) {
                        pi += 1;
                        ni += 1;
                        continue;
                    }
                }
                None => {}
            }
        } else if ni == n.len() {
            return true;
        }
        // Mismatch: let the last star absorb one more character (never `/`).
        match star {
            Some((after_star, star_ni)) if n.get(star_ni).is_some_and(|c| *c != '/') => {
                star = Some((after_star, star_ni + 1));
                pi = after_star;
                ni = star_ni + 1;
            }
            _ => return false,
        }
    }
}

/// Endpoint path patterns: exact, `X/**` (X itself or anything under
/// `X/`), or a [`path_match`] pattern. Paths use `/`.
pub(crate) fn path_pattern_matches(value: &str, pattern: &str) -> bool {
    let pattern = pattern.trim();
    if pattern.is_empty() {
        return false;
    }
    let value = value.trim();
    if pattern == value {
        return true;
    }
    if let Some(prefix) = pattern.strip_suffix("/**") {
        if value == prefix
            || value
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with('/'))
        {
            return true;
        }
    }
    path_match(pattern, value)
}

/// Endpoint domain patterns (case-insensitive): exact, `*.suffix`, or a
/// [`path_match`] pattern.
pub(crate) fn domain_pattern_matches(value: &str, pattern: &str) -> bool {
    let pattern = crate::intent::gostr::lower(pattern.trim());
    if pattern.is_empty() {
        return false;
    }
    let value = crate::intent::gostr::lower(value.trim());
    if value == pattern {
        return true;
    }
    if let Some(suffix) = pattern.strip_prefix('*') {
        if pattern.starts_with("*.") && value.ends_with(suffix) {
            return true;
        }
    }
    path_match(&pattern, &value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_path_match_table() {
        for (pattern, name, want) in [
            ("abc", "abc", true),
            ("*", "abc", true),
            ("*c", "abc", true),
            ("a*", "a", true),
            ("a*", "abc", true),
            ("a*", "ab/c", false),
            ("a*/b", "abc/b", true),
            ("a*/b", "a/c/b", false),
            ("a*b*c*d*e*/f", "axbxcxdxe/f", true),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/f", true),
            ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", false),
            ("a*b?c*x", "abxbbxdbxebxczzx", true),
            ("a*b?c*x", "abxbbxdbxebxczzy", false),
            ("ab[c]", "abc", true),
            ("ab[b-d]", "abc", true),
            ("ab[e-g]", "abc", false),
            ("ab[^c]", "abc", false),
            ("ab[^b-d]", "abc", false),
            ("ab[^e-g]", "abc", true),
            ("a\\*b", "a*b", true),
            ("a\\*b", "ab", false),
            ("a?b", "a☺b", true),
            ("a[^a]b", "a☺b", true),
            ("a???b", "a☺b", false),
            ("a[^a][^a][^a]b", "a☺b", false),
            ("[a-ζ]*", "α", true),
            ("*[a-ζ]", "A", false),
            ("a?b", "a/b", false),
            ("a*b", "a/b", false),
            ("[\\]a]", "]", true),
            ("[\\-]", "-", true),
            ("[x\\-]", "x", true),
            ("[x\\-]", "-", true),
            ("[x\\-]", "z", false),
            ("[\\-x]", "x", true),
            ("[\\-x]", "-", true),
            ("[\\-x]", "a", false),
            ("[]a]", "]", false),
            ("[-]", "-", false),
            ("[x-]", "x", false),
            ("[-x]", "x", false),
            ("\\", "a", false),
            ("[a-b-c]", "a", false),
            ("[", "a", false),
            ("[^", "a", false),
            ("[^bc", "a", false),
            ("a[", "a", false),
            ("a[", "ab", false),
            ("a[", "x", false),
            ("a/b[", "x", false),
            ("*x", "xxx", true),
        ] {
            assert_eq!(path_match(pattern, name), want, "{pattern} vs {name}");
        }
    }

    #[test]
    fn endpoint_patterns() {
        assert!(path_pattern_matches("/tmp/a/b", "/tmp/**"));
        assert!(path_pattern_matches("/tmp", "/tmp/**"));
        assert!(!path_pattern_matches("/tmpx", "/tmp/**"));
        assert!(path_pattern_matches("/tmp/a", "/tmp/*"));
        assert!(!path_pattern_matches("/tmp/a/b", "/tmp/*"));
        assert!(domain_pattern_matches("API.Example.com", "*.example.com"));
        assert!(!domain_pattern_matches("example.com", "*.example.com"));
        assert!(domain_pattern_matches("example.com", "Example.COM"));
    }
}
