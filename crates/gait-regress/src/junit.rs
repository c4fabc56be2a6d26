//! JUnit XML for `regress run --junit`, byte-compatible with the
//! reference (Go `encoding/xml` with two-space indent).

use std::fmt::Write as _;

use crate::run::{RegressResult, STATUS_FAIL};

/// Escapes text as Go's `xml.EscapeText` does.
fn escape(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            c if is_xml_char(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
}

fn is_xml_char(c: char) -> bool {
    matches!(c, '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escape(&mut out, s);
    out
}

/// Renders the JUnit report of a regress result: one `testsuite` named
/// `gait.regress.<fixture_set>`, one `testcase` per grader (name = grader,
/// classname = fixture), a `failure` element carrying the comma-joined
/// reason codes for failed graders; times are always `0`.
pub fn render_junit(result: &RegressResult) -> String {
    let tests = result.graders.len();
    let failures = result
        .graders
        .iter()
        .filter(|g| g.status == STATUS_FAIL)
        .count();
    let suite = if result.fixture_set.is_empty() {
        "gait.regress".to_owned()
    } else {
        format!("gait.regress.{}", result.fixture_set)
    };
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\" time=\"0\">"
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\" time=\"0\">",
        esc(&suite)
    );
    for g in &result.graders {
        let (fixture, grader) = match g.name.split_once('/') {
            Some((f, n)) => (f, n),
            None => ("regress", g.name.as_str()),
        };
        let open = format!(
            "    <testcase name=\"{}\" classname=\"{}\" time=\"0\">",
            esc(grader),
            esc(fixture)
        );
        if g.status == STATUS_FAIL {
            let mut reasons: Vec<&str> = g
                .reason_codes
                .iter()
                .map(|r| r.trim())
                .filter(|r| !r.is_empty())
                .collect();
            reasons.sort_unstable();
            reasons.dedup();
            let text = if reasons.is_empty() {
                "failed".to_owned()
            } else {
                reasons.join(",")
            };
            let _ = writeln!(out, "{open}");
            let _ = writeln!(
                out,
                "      <failure message=\"{}\" type=\"regress_failure\">{}</failure>",
                esc(&text),
                esc(&text)
            );
            let _ = writeln!(out, "    </testcase>");
        } else {
            let _ = writeln!(out, "{open}</testcase>");
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}
