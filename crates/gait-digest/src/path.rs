//! Go's lexical path cleaning (`path/filepath.Clean` with `/` separators).

/// Returns the shortest path equivalent to `p` by purely lexical processing,
/// as Go's `filepath.Clean` does on Unix:
///
/// 1. runs of `/` become one `/`;
/// 2. `.` elements are removed;
/// 3. an inner `..` removes the element before it;
/// 4. `..` at the start of a rooted path is removed.
///
/// The empty path becomes `.`. No file system access is made.
///
/// ```
/// use gait_digest::clean_path;
/// assert_eq!(clean_path("./gait-out//keys/"), "gait-out/keys");
/// assert_eq!(clean_path("/../a/./b/../c"), "/a/c");
/// assert_eq!(clean_path("../../x"), "../../x");
/// assert_eq!(clean_path(""), ".");
/// ```
pub fn clean_path(p: &str) -> String {
    if p.is_empty() {
        return ".".to_owned();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    // Number of leading `..` elements kept in a relative path.
    let mut dotdot = 0usize;
    for elem in p.split('/') {
        match elem {
            "" | "." => {}
            ".." => {
                if parts.len() > dotdot {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                    dotdot += 1;
                }
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_owned(),
        (false, false) => joined,
    }
}

/// The cleaned path ([`clean_path`]) when it is absolute or stays inside
/// the folder it is relative to; `None` for a relative path that climbs
/// out of it with `..`. Used for every path a boundary accepts for
/// evidence or state (context envelopes, kill-switch state).
///
/// ```
/// use gait_digest::local_path;
/// assert_eq!(local_path("a/./b/../c").as_deref(), Some("a/c"));
/// assert_eq!(local_path("/x/../../y").as_deref(), Some("/y"));
/// assert_eq!(local_path("a/..").as_deref(), Some("."));
/// assert_eq!(local_path("a/../../x"), None);
/// assert_eq!(local_path(".."), None);
/// ```
pub fn local_path(p: &str) -> Option<String> {
    let cleaned = clean_path(p);
    (cleaned != ".." && !cleaned.starts_with("../")).then_some(cleaned)
}

#[cfg(test)]
mod tests {
    use super::clean_path;

    #[test]
    fn go_clean_table() {
        for (input, want) in [
            ("abc", "abc"),
            ("abc/def", "abc/def"),
            ("a/b/c", "a/b/c"),
            (".", "."),
            ("..", ".."),
            ("../..", "../.."),
            ("../../abc", "../../abc"),
            ("/abc", "/abc"),
            ("/", "/"),
            ("", "."),
            ("abc/", "abc"),
            ("abc/def/", "abc/def"),
            ("a/b/c/", "a/b/c"),
            ("./", "."),
            ("../", ".."),
            ("../../", "../.."),
            ("/abc/", "/abc"),
            ("abc//def//ghi", "abc/def/ghi"),
            ("//abc", "/abc"),
            ("///abc", "/abc"),
            ("//abc//", "/abc"),
            ("abc//", "abc"),
            ("abc/./def", "abc/def"),
            ("/./abc/def", "/abc/def"),
            ("abc/.", "abc"),
            ("abc/def/ghi/../jkl", "abc/def/jkl"),
            ("abc/def/../ghi/../jkl", "abc/jkl"),
            ("abc/def/..", "abc"),
            ("abc/def/../..", "."),
            ("/abc/def/../..", "/"),
            ("abc/def/../../..", ".."),
            ("/abc/def/../../..", "/"),
            ("abc/def/../../../ghi/jkl/../../../mno", "../../mno"),
            ("/../abc", "/abc"),
            ("a/../b/../c/../..", ".."),
            ("abc/./../def", "def"),
            ("abc//./../def", "def"),
            ("abc/../../././../def", "../../def"),
        ] {
            assert_eq!(clean_path(input), want, "{input}");
        }
    }
}
