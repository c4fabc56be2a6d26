//! JUnit XML for `regress run --junit`, byte-compatible with the
//! reference (Go `encoding/xml` with two-space indent).

use std::fmt::Write as _;

use crate::run::{RegressResult, Status};

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
        .filter(|g| g.status == Status::Fail)
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
        if g.status == Status::Fail {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]
    use super::*;
    use crate::run::{GraderResult, Status};
    use proptest::prelude::*;

    fn result(graders: Vec<(String, bool, Vec<String>)>) -> RegressResult {
        RegressResult {
            schema_id: "gait.regress.result".into(),
            schema_version: "1.0.0".into(),
            created_at: "2026-02-05T00:00:00Z".into(),
            producer_version: "0.0.0-dev".into(),
            fixture_set: "default".into(),
            status: Status::Pass,
            graders: graders
                .into_iter()
                .map(|(name, pass, reasons)| GraderResult {
                    name,
                    status: if pass { Status::Pass } else { Status::Fail },
                    reason_codes: reasons,
                    context_conformance: String::new(),
                    details: Default::default(),
                })
                .collect(),
        }
    }

    /// (classname, name, failure message) as quick-xml reads them back.
    fn parse(xml: &str) -> Vec<(String, String, Option<String>)> {
        use quick_xml::events::Event;
        let mut r = quick_xml::Reader::from_str(xml);
        let mut out: Vec<(String, String, Option<String>)> = Vec::new();
        let attr = |e: &quick_xml::events::BytesStart, k: &str| {
            e.attributes()
                .map(|a| a.unwrap())
                .find(|a| a.key.as_ref() == k)
                .map(|a| {
                    a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .unwrap()
                        .into_owned()
                })
                .unwrap()
        };
        loop {
            match r.read_event().unwrap() {
                Event::Start(e) | Event::Empty(e) => match e.name().as_ref() {
                    "testcase" => out.push((attr(&e, "classname"), attr(&e, "name"), None)),
                    "failure" => out.last_mut().unwrap().2 = Some(attr(&e, "message")),
                    _ => {}
                },
                Event::Eof => break,
                _ => {}
            }
        }
        out
    }

    #[test]
    fn empty_elements_are_open_and_close_tags() {
        let xml = render_junit(&result(vec![("a/diff".into(), true, vec![])]));
        assert!(xml.contains("<testcase name=\"diff\" classname=\"a\" time=\"0\"></testcase>"));
        assert!(xml.ends_with("</testsuites>\n"));
    }

    #[test]
    fn failure_without_reasons_says_failed() {
        let xml = render_junit(&result(vec![("grader".into(), false, vec![" ".into()])]));
        assert_eq!(
            parse(&xml),
            vec![("regress".into(), "grader".into(), Some("failed".into()))]
        );
    }

    proptest! {
        #[test]
        fn parses_back_with_an_independent_parser(
            cases in proptest::collection::vec(
                ("[a-z0-9<>&\"' ._-]{1,8}", "[a-z0-9<>&\"' _]{1,8}", any::<bool>(),
                 proptest::collection::vec("[a-z_<>&\"']{1,6}", 0..3)),
                0..6,
            )
        ) {
            let graders: Vec<_> = cases
                .iter()
                .map(|(f, g, pass, reasons)| (format!("{f}/{g}"), *pass, reasons.clone()))
                .collect();
            let xml = render_junit(&result(graders));
            let parsed = parse(&xml);
            prop_assert_eq!(parsed.len(), cases.len());
            for ((f, g, pass, reasons), (pf, pg, failure)) in cases.iter().zip(&parsed) {
                prop_assert_eq!(f, pf);
                prop_assert_eq!(g, pg);
                let mut want: Vec<&str> = reasons.iter().map(|r| r.trim()).filter(|r| !r.is_empty()).collect();
                want.sort_unstable();
                want.dedup();
                let want = if want.is_empty() { "failed".to_owned() } else { want.join(",") };
                prop_assert_eq!(failure.clone(), (!pass).then_some(want));
            }
        }
    }
}
