//! Property tests: loading is deterministic, and the digest depends only on
//! the policy's meaning, not on how its YAML is written (key order, block or
//! flow style, quoting, comments, list order, duplicates, surrounding
//! spaces, keyword case, rule order).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: helpers panic on malformed test data"
)]

use gait_policy::policy::Policy;
use proptest::prelude::*;

/// A YAML value to render.
#[derive(Debug, Clone)]
enum Y {
    Str(String),
    Int(i64),
    Bool(bool),
    List(Vec<Y>),
    Map(Vec<(String, Y)>),
}

/// How to write the YAML.
#[derive(Debug, Clone, Copy)]
struct Style {
    seed: u64,
    flow: bool,
    quote: bool,
    comments: bool,
}

impl Style {
    /// A small deterministic generator driven by the seed.
    fn next(&mut self) -> u64 {
        self.seed = self
            .seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.seed >> 33
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = usize::try_from(self.next() % (i as u64 + 1)).unwrap();
            items.swap(i, j);
        }
    }
}

fn scalar(y: &Y, style: &mut Style) -> String {
    match y {
        Y::Str(s) => {
            let plain = !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/'))
                && s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && !matches!(
                    s.to_ascii_lowercase().as_str(),
                    "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n"
                );
            if plain && !(style.quote && style.next().is_multiple_of(2)) {
                s.clone()
            } else if style.next().is_multiple_of(2) {
                format!("'{}'", s.replace('\'', "''"))
            } else {
                format!("{s:?}")
            }
        }
        Y::Int(i) => i.to_string(),
        Y::Bool(b) => b.to_string(),
        Y::List(_) | Y::Map(_) => unreachable!("not a scalar"),
    }
}

fn flow(y: &Y, style: &mut Style) -> String {
    match y {
        Y::List(items) => {
            let parts: Vec<String> = items.iter().map(|i| flow(i, style)).collect();
            format!("[{}]", parts.join(", "))
        }
        Y::Map(entries) => {
            let mut entries = entries.clone();
            style.shuffle(&mut entries);
            let parts: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("{k}: {}", flow(v, style)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        other => scalar(other, style),
    }
}

fn block(y: &Y, indent: usize, out: &mut String, style: &mut Style) {
    let pad = " ".repeat(indent);
    match y {
        Y::Map(entries) => {
            let mut entries = entries.clone();
            style.shuffle(&mut entries);
            for (k, v) in &entries {
                if style.comments && style.next().is_multiple_of(4) {
                    out.push_str(&format!("{pad}# about {k}\n\n"));
                }
                match v {
                    Y::Map(m) if !m.is_empty() && !style.flow => {
                        out.push_str(&format!("{pad}{k}:\n"));
                        block(v, indent + 2, out, style);
                    }
                    Y::List(l) if !l.is_empty() && !style.flow => {
                        out.push_str(&format!("{pad}{k}:\n"));
                        block(v, indent + 2, out, style);
                    }
                    _ => out.push_str(&format!("{pad}{k}: {}\n", flow(v, style))),
                }
            }
        }
        Y::List(items) => {
            for item in items {
                match item {
                    Y::Map(m) if !m.is_empty() && !style.flow => {
                        let mut inner = String::new();
                        block(item, indent + 2, &mut inner, style);
                        // Put the first key on the dash line.
                        let inner = inner.trim_start().to_owned();
                        out.push_str(&format!("{pad}- {inner}"));
                        if !inner.ends_with('\n') {
                            out.push('\n');
                        }
                    }
                    _ => out.push_str(&format!("{pad}- {}\n", flow(item, style))),
                }
            }
        }
        other => out.push_str(&format!("{pad}{}\n", scalar(other, style))),
    }
}

fn render(doc: &Y, mut style: Style) -> String {
    let mut out = String::new();
    if style.comments {
        out.push_str("# generated policy\n---\n");
    }
    block(doc, 0, &mut out, &mut style);
    out
}

#[derive(Debug, Clone)]
struct RuleSpec {
    name: String,
    priority: i64,
    effect: &'static str,
    tool_names: Vec<String>,
    risk_classes: Vec<&'static str>,
    target_values: Vec<String>,
    reason_codes: Vec<String>,
    min_approvals: i64,
    destructive_hint: Option<bool>,
    max_delegation_depth: Option<i64>,
    rate_limit: Option<(i64, &'static str)>,
    when: Option<String>,
}

#[derive(Debug, Clone)]
struct PolicySpec {
    default_verdict: Option<&'static str>,
    fail_closed: Option<bool>,
    rules: Vec<RuleSpec>,
}

const VERDICTS: [&str; 4] = ["allow", "block", "dry_run", "require_approval"];
const RISK: [&str; 4] = ["low", "medium", "high", "critical"];

fn word() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9]{0,6}(\\.[a-z0-9]{1,5})?"
}

fn rule_spec() -> impl Strategy<Value = RuleSpec> {
    (
        (
            word(),
            -3i64..20,
            prop::sample::select(&VERDICTS[..]),
            prop::collection::vec(word(), 0..4),
            prop::collection::vec(prop::sample::select(&RISK[..]), 0..3),
            prop::collection::vec("[A-Za-z0-9./:-]{1,12}", 0..3),
        ),
        (
            prop::collection::vec("[a-z_]{1,10}", 0..3),
            0i64..4,
            prop::option::of(any::<bool>()),
            prop::option::of(0i64..5),
            prop::option::of((1i64..50, prop::sample::select(&["minute", "hour"][..]))),
            // Valid CEL over `intent` (conditions are compiled at load).
            prop::option::of("intent\\.args\\['[a-z]{1,6}'\\] > [0-9]{1,3}"),
        ),
    )
        .prop_map(
            |(
                (name, priority, effect, tool_names, risk_classes, target_values),
                (
                    reason_codes,
                    min_approvals,
                    destructive_hint,
                    max_delegation_depth,
                    rate_limit,
                    when,
                ),
            )| RuleSpec {
                name,
                priority,
                effect,
                tool_names,
                risk_classes,
                target_values,
                reason_codes,
                min_approvals,
                destructive_hint,
                max_delegation_depth,
                rate_limit,
                when,
            },
        )
}

fn policy_spec() -> impl Strategy<Value = PolicySpec> {
    (
        prop::option::of(prop::sample::select(&VERDICTS[..])),
        prop::option::of(any::<bool>()),
        prop::collection::vec(rule_spec(), 0..5),
    )
        .prop_map(|(default_verdict, fail_closed, mut rules)| {
            // Unique names, so that rule order in the file cannot matter.
            for (i, r) in rules.iter_mut().enumerate() {
                r.name = format!("{}-{i}", r.name);
            }
            PolicySpec {
                default_verdict,
                fail_closed,
                rules,
            }
        })
}

/// Variations that must not change the meaning: keyword case, padding,
/// duplicates and order within lists.
#[derive(Debug, Clone, Copy)]
struct Noise {
    seed: u64,
    enabled: bool,
}

impl Noise {
    fn keyword(&self, s: &str, i: usize) -> String {
        if self.enabled && (self.seed >> (i % 60)) & 1 == 1 {
            s.to_ascii_uppercase()
        } else {
            s.to_owned()
        }
    }

    fn pad(&self, s: &str, i: usize) -> String {
        if self.enabled && (self.seed >> ((i + 7) % 60)) & 1 == 1 {
            format!("  {s} ")
        } else {
            s.to_owned()
        }
    }

    /// Reorders and duplicates list entries.
    fn list(&self, items: &[String], style: &mut Style) -> Vec<String> {
        let mut out = items.to_vec();
        if self.enabled {
            if let Some(first) = items.first() {
                out.push(first.clone());
            }
            style.shuffle(&mut out);
        }
        out
    }
}

fn strs(items: Vec<String>) -> Y {
    Y::List(items.into_iter().map(Y::Str).collect())
}

fn to_yaml(spec: &PolicySpec, noise: Noise, style: &mut Style) -> Y {
    let mut top = Vec::new();
    if let Some(v) = spec.default_verdict {
        top.push(("default_verdict".to_owned(), Y::Str(noise.keyword(v, 1))));
    }
    if let Some(enabled) = spec.fail_closed {
        top.push((
            "fail_closed".to_owned(),
            Y::Map(vec![("enabled".to_owned(), Y::Bool(enabled))]),
        ));
    }
    let mut rules = Vec::new();
    for (i, r) in spec.rules.iter().enumerate() {
        let mut m = vec![
            ("name".to_owned(), Y::Str(noise.pad(&r.name, i))),
            ("effect".to_owned(), Y::Str(noise.keyword(r.effect, i + 3))),
        ];
        if r.priority != 0 {
            m.push(("priority".to_owned(), Y::Int(r.priority)));
        }
        let tools: Vec<String> = r
            .tool_names
            .iter()
            .enumerate()
            .map(|(j, t)| noise.keyword(t, i + j))
            .collect();
        let risk: Vec<String> = r.risk_classes.iter().map(|s| (*s).to_owned()).collect();
        let mut sel = vec![
            ("tool_names".to_owned(), strs(noise.list(&tools, style))),
            ("risk_classes".to_owned(), strs(noise.list(&risk, style))),
            (
                "target_values".to_owned(),
                strs(noise.list(&r.target_values, style)),
            ),
        ];
        if let Some(h) = r.destructive_hint {
            sel.push((
                "tool_annotations".to_owned(),
                Y::Map(vec![("destructiveHint".to_owned(), Y::Bool(h))]),
            ));
        }
        if let Some(d) = r.max_delegation_depth {
            sel.push(("max_delegation_depth".to_owned(), Y::Int(d)));
        }
        if let Some(w) = &r.when {
            sel.push(("when".to_owned(), Y::Str(w.clone())));
        }
        m.push(("match".to_owned(), Y::Map(sel)));
        m.push((
            "reason_codes".to_owned(),
            strs(noise.list(&r.reason_codes, style)),
        ));
        if r.min_approvals > 0 {
            m.push(("min_approvals".to_owned(), Y::Int(r.min_approvals)));
        }
        if let Some((requests, window)) = r.rate_limit {
            m.push((
                "rate_limit".to_owned(),
                Y::Map(vec![
                    ("requests".to_owned(), Y::Int(requests)),
                    ("window".to_owned(), Y::Str(noise.keyword(window, i))),
                ]),
            ));
        }
        rules.push(Y::Map(m));
    }
    if noise.enabled {
        style.shuffle(&mut rules);
    }
    top.push(("rules".to_owned(), Y::List(rules)));
    Y::Map(top)
}

fn style() -> impl Strategy<Value = Style> {
    (any::<u64>(), any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
        |(seed, flow, quote, comments)| Style {
            seed,
            flow,
            quote,
            comments,
        },
    )
}

fn load(yaml: &str) -> Policy {
    match Policy::from_yaml_str(yaml) {
        Ok(p) => p,
        Err(e) => panic!("generated policy should load: {e}\n{yaml}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn loading_is_deterministic(spec in policy_spec(), s in style()) {
        let mut st = s;
        let doc = to_yaml(&spec, Noise { seed: 0, enabled: false }, &mut st);
        let yaml = render(&doc, s);
        let a = load(&yaml);
        let b = load(&yaml);
        prop_assert_eq!(a.digest(), b.digest());
        prop_assert_eq!(&a, &b);
        prop_assert_eq!(a.digest(), gait_digest::digest_json(&a.projection()));
        prop_assert_eq!(a.rules().len(), spec.rules.len());
    }

    #[test]
    fn digest_ignores_formatting_and_order(
        spec in policy_spec(),
        s1 in style(),
        s2 in style(),
        noise in any::<u64>(),
    ) {
        let mut st1 = s1;
        let plain = render(&to_yaml(&spec, Noise { seed: 0, enabled: false }, &mut st1), s1);
        let mut st2 = s2;
        let noisy = render(&to_yaml(&spec, Noise { seed: noise, enabled: true }, &mut st2), s2);
        let a = load(&plain);
        let b = load(&noisy);
        prop_assert_eq!(a.digest(), b.digest(), "\n--- a ---\n{}\n--- b ---\n{}", plain, noisy);
        prop_assert_eq!(a, b);
    }

    #[test]
    fn digest_tracks_when_conditions(spec in policy_spec(), s in style()) {
        let mut without = spec.clone();
        for r in &mut without.rules {
            r.when = None;
        }
        let mut st = s;
        let a = load(&render(&to_yaml(&without, Noise { seed: 0, enabled: false }, &mut st), s));
        let mut st = s;
        let b = load(&render(&to_yaml(&spec, Noise { seed: 0, enabled: false }, &mut st), s));
        let has_when = spec.rules.iter().any(|r| r.when.is_some());
        prop_assert_eq!(a.digest() != b.digest(), has_when);
    }
}
