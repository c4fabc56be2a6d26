//! Resource limits of CEL `match.when` conditions: refused at load when
//! too long, too deep or too large, metered at evaluation (cost budget and
//! wall time), and safe on threads with small stacks. A condition that
//! exceeds its evaluation limits blocks, whatever the risk class.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: helpers panic on malformed test data"
)]

use std::time::{Duration, Instant};

use gait_digest::GoTime;
use gait_policy::cel::{CelInput, Condition, EvalError, MAX_BRACKET_NESTING, MAX_SOURCE_BYTES};
use gait_policy::eval::{EvalOptions, evaluate};
use gait_policy::intent::Intent;
use gait_policy::policy::{Policy, PolicyError, Verdict};
use proptest::prelude::*;

/// A thread stack smaller than any boundary's (tokio workers have 2 MiB).
const SMALL_STACK: usize = 256 * 1024;

fn on_small_stack<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .stack_size(SMALL_STACK)
            .spawn_scoped(s, f)
            .unwrap()
            .join()
            .unwrap()
    })
}

fn intent(risk: &str) -> Intent {
    Intent::from_json_str(&format!(
        r#"{{"tool_name": "tool.write", "args": {{"path": "/tmp/x", "n": 3}},
            "targets": [{{"kind": "path", "value": "/tmp/x", "operation": "write"}}],
            "context": {{"identity": "alice", "workspace": "/w", "risk_class": "{risk}"}}}}"#
    ))
    .unwrap()
}

fn eval_checked(condition: &Condition, intent: &Intent) -> Result<bool, EvalError> {
    let input = CelInput::new(
        intent.tool_name(),
        intent.args(),
        intent.targets(),
        intent.arg_provenance(),
        intent.context(),
    );
    condition.evaluate(&input)
}

/// A policy whose only rule allows `tool.write` when `when` holds, by
/// default blocking; or, with `block_rule`, blocks when `when` holds and
/// allows by default.
fn policy_yaml(when: &str, block_rule: bool) -> String {
    let (effect, default) = if block_rule {
        ("block", "allow")
    } else {
        ("allow", "block")
    };
    format!(
        "default_verdict: {default}\nrules:\n  - name: guarded\n    priority: 1\n    effect: {effect}\n    match:\n      tool_names: [tool.write]\n      when: '{}'\n",
        when.replace('\'', "''")
    )
}

fn load_error(when: &str) -> PolicyError {
    match Policy::from_yaml_str(&policy_yaml(when, false)) {
        Ok(_) => panic!("{when:.80} should not load"),
        Err(e) => e,
    }
}

fn assert_refused(when: &str, needle: &str) {
    let err = load_error(when);
    let PolicyError::Invalid { field, message, .. } = &err else {
        panic!("expected Invalid, got {err:?}");
    };
    assert_eq!(field, "rules[0].match.when");
    assert!(message.contains("guarded"), "names the rule: {message}");
    assert!(message.contains(needle), "{needle:?} in {message}");
}

/// `1 + 1 + ... + 1 == 0` with `terms` terms.
fn plus_chain(terms: usize) -> String {
    format!("intent.args.n{} == 0", " + 10".repeat(terms - 1))
}

/// `[1,2,3,4].map(a, [1,2,3,4].map(b, ...))` nested `levels` deep.
fn nested_maps(levels: usize) -> String {
    let mut body = "1".to_owned();
    for level in 0..levels {
        body = format!("[1, 2, 3, 4].map(v{level}, {body})");
    }
    format!("{body}.size() > 0")
}

/// A list literal of `n` integers.
fn list(n: usize) -> String {
    let items: Vec<String> = (0..n).map(|i| i.to_string()).collect();
    format!("[{}]", items.join(","))
}

#[test]
fn a_1500_term_plus_chain_is_refused_at_load() {
    // About 7 KB, as in the report: it used to load and then overflow the
    // stack of the thread that evaluated it.
    let chain = plus_chain(1500);
    assert!(chain.len() > 7000);
    assert_refused(&chain, "too long");
    // Within the size limit, the depth limit refuses a long chain.
    let chain = plus_chain(200);
    assert!(chain.len() < MAX_SOURCE_BYTES);
    assert_refused(&chain, "nested too deeply");
    // Refusing it does not overflow a small stack either.
    let err = on_small_stack(|| {
        Condition::compile(&plus_chain(800))
            .unwrap_err()
            .to_string()
    });
    assert!(err.contains("nested too deeply"), "{err}");
}

#[test]
fn the_deepest_accepted_conditions_evaluate_on_a_small_stack() {
    // The longest `+` chain and the deepest brackets that load, evaluated
    // on a 256 KiB thread (which they used to overflow).
    let chain = (1..200)
        .rev()
        .find_map(|n| Condition::compile(&plus_chain(n)).ok())
        .unwrap();
    let nested = format!(
        "{}intent.args.n{} == 3",
        "(".repeat(MAX_BRACKET_NESTING),
        ")".repeat(MAX_BRACKET_NESTING)
    );
    let lists = format!(
        "size({}intent.args.n{}) == 1",
        "[".repeat(MAX_BRACKET_NESTING - 1),
        "]".repeat(MAX_BRACKET_NESTING - 1)
    );
    let i = intent("low");
    for source in [chain.source().to_owned(), nested, lists, nested_maps(3)] {
        let results = on_small_stack(|| {
            let condition = Condition::compile(&source).unwrap();
            (eval_checked(&condition, &i), eval_checked(&condition, &i))
        });
        assert!(results.0.is_ok(), "{source:.60}: {:?}", results.0);
        assert_eq!(results.0, results.1);
    }
    // On the calling thread too, with the same results.
    assert_eq!(eval_checked(&chain, &i), Ok(false));
}

#[test]
fn deep_parentheses_are_refused_before_parsing() {
    for open in ["(", "[", "{1: "] {
        let close = match open {
            "(" => ")",
            "[" => "]",
            _ => "}",
        };
        let deep = format!(
            "{}1{} == 1",
            open.repeat(MAX_BRACKET_NESTING + 1),
            close.repeat(MAX_BRACKET_NESTING + 1)
        );
        assert_refused(&deep, "levels of brackets");
        // 500 levels: refused without running the parser, on a small
        // stack.
        let deeper = format!("{}1{}", open.repeat(500), close.repeat(500));
        let err = on_small_stack(|| Condition::compile(&deeper).unwrap_err().to_string());
        assert!(err.contains("levels of brackets"), "{err}");
    }
    // Brackets inside string literals do not count.
    let quoted = format!("intent.tool_name != '{}'", "(".repeat(100));
    Condition::compile(&quoted).unwrap();
}

#[test]
fn the_nested_map_bomb_is_refused_at_load() {
    // The report's shape: comprehensions nested until the result has
    // 4^levels elements.
    let bomb = nested_maps(12);
    assert!(bomb.len() < 400, "{}", bomb.len());
    assert_refused(&bomb, "comprehension macros");
    assert_refused(&nested_maps(4), "more than 3 deep");
    // Three levels load.
    Policy::from_yaml_str(&policy_yaml(&nested_maps(3), false)).unwrap();
}

#[test]
fn costly_conditions_stop_within_the_budget() {
    let hundred = list(100);
    let commas = format!("'{}'", "x,".repeat(40));
    for source in [
        // 10^6 iterations at three levels of nesting.
        format!("{hundred}.map(a, {hundred}.map(b, {hundred}.map(c, a + b + c))).size() == 0"),
        // A string grown tenfold per call: 10^10 bytes at the end.
        format!(
            "'a'{}.size() == 0",
            ".replace('a', 'aaaaaaaaaa')".repeat(10)
        ),
        // Lists grown multiplicatively through split and map.
        format!(
            "{commas}.split(',').map(a, {commas}.split(',').map(b, {commas}.split(',').map(c, a + b + c + {commas}))).size() == 0"
        ),
        // Quadratic substring searches (see
        // `substring_searches_take_linear_time`), repeated: the loop
        // overruns the budget within milliseconds.
        format!(
            "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10].all(i, ('a'{x}{x}{x}).indexOf(('a'{x}{x}{y}) + 'b') == -1)",
            x = ".replace('a', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa')",
            y = ".replace('a', 'aaaaaaaaaaaaaaaaaaaaaaaaaa')"
        ),
        // A pattern built at run time whose program is enormous.
        "'a'.matches('((a{10' + '00}){1000}){1000}')".to_owned(),
        // Growing a string eightfold per level of nested comprehensions.
        format!(
            "['{}'].map(a, [a + a + a + a + a + a + a + a].map(b, [b + b + b + b + b + b + b + b].map(c, c + c + c + c + c + c + c + c))).size() == 0",
            "x".repeat(3000)
        ),
    ] {
        let condition = Condition::compile(&source).unwrap_or_else(|e| panic!("{source:.80}: {e}"));
        let i = intent("low");
        let start = Instant::now();
        let result = on_small_stack(|| eval_checked(&condition, &i));
        let elapsed = start.elapsed();
        assert!(
            matches!(&result, Err(EvalError::LimitExceeded(_))),
            "{source:.80}: {result:?}"
        );
        assert!(
            elapsed < Duration::from_secs(2),
            "{source:.80}: {elapsed:?}"
        );
        assert!(
            result
                .unwrap_err()
                .to_string()
                .contains("CEL resource limit"),
            "{source:.80}"
        );
    }
}

#[test]
fn substring_searches_take_linear_time() {
    // Searching a 70 KB needle of `a`s then `b` in a 140 KB haystack of
    // `a`s: billions of comparisons window by window, a few milliseconds
    // in linear time.
    let x = ".replace('a', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa')";
    let y = ".replace('a', 'aaaaaaaaaaaaaaaaaaaaaaaaaa')";
    let source = format!(
        "('a'{x}{x}{x}).indexOf(('a'{x}{x}{y}) + 'b') == -1 \
         && ('a'{x}{x}{x}).lastIndexOf('b' + ('a'{x}{x}{y})) == -1 \
         && ('a'{x}{x}{x}).indexOf('a'{x}{x}{y}, 3) == 3 \
         && ('a'{x}{x}{x}).lastIndexOf('a'{x}{x}{y}) == 70304"
    );
    // One search per evaluation: each stays far below the wall-time limit
    // even in unoptimized builds.
    for search in source.split("&&") {
        let condition = Condition::compile(search.trim()).unwrap();
        let start = Instant::now();
        assert_eq!(
            eval_checked(&condition, &intent("low")),
            Ok(true),
            "{search:.60}"
        );
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{:?}",
            start.elapsed()
        );
    }
}

#[test]
fn a_budget_overrun_fails_closed_at_every_risk_class() {
    let hundred = list(100);
    // False if it could finish: the rule would not match and the default
    // (allow) would decide. It cannot finish within the budget.
    let costly = format!("{hundred}.map(a, {hundred}.map(b, {hundred}.map(c, 1))).size() == 0");
    let policy = Policy::from_yaml_str(&policy_yaml(&costly, true)).unwrap();
    let now = GoTime::parse("2026-03-10T12:00:00Z").unwrap();
    for risk in ["low", "medium", "high", "critical"] {
        let start = Instant::now();
        let decision = evaluate(&policy, &intent(risk), &EvalOptions::at(now));
        assert!(start.elapsed() < Duration::from_secs(2), "{risk}");
        assert_eq!(decision.verdict(), Verdict::Block, "{risk}: {decision:?}");
        for code in ["cel_condition_error", "cel_limit_exceeded"] {
            assert!(
                decision.reason_codes().iter().any(|c| c == code),
                "{risk}: {code} in {:?}",
                decision.reason_codes()
            );
            assert!(decision.violations().iter().any(|c| c == code), "{risk}");
        }
    }
    // An ordinary evaluation error keeps its behaviour: no match, and a
    // block only at high and critical risk.
    let missing = Policy::from_yaml_str(&policy_yaml("intent.args.missing == 1", true)).unwrap();
    let low = evaluate(&missing, &intent("low"), &EvalOptions::at(now));
    assert_eq!(low.verdict(), Verdict::Allow);
    assert!(
        low.reason_codes()
            .iter()
            .any(|c| c == "cel_condition_error")
    );
    assert!(!low.reason_codes().iter().any(|c| c == "cel_limit_exceeded"));
}

#[test]
fn absorbed_limit_errors_still_count() {
    // `||` and `exists` absorb an error when the other side decides, but a
    // budget overrun is never absorbed.
    // 10^6 iterations at two levels of nesting (1,000 elements each).
    let thousand = format!(
        "'x'{}.split(',')",
        ".replace('x', 'x,x,x,x,x,x,x,x,x,x')".repeat(3)
    );
    let costly = format!("{thousand}.map(a, {thousand}.map(b, 1)).size() == 0");
    let i = intent("low");
    for source in [
        format!("({costly}) || true"),
        format!("[1, 2].exists(x, x == 2 || ({costly}))"),
        format!("!({costly}) && false"),
    ] {
        let condition = Condition::compile(&source).unwrap();
        let result = eval_checked(&condition, &i);
        assert!(
            matches!(result, Err(EvalError::LimitExceeded(_))),
            "{source:.60}: {result:?}"
        );
    }
}

#[test]
fn realistic_conditions_are_within_the_limits() {
    let i = intent("high");
    for source in [
        r#"intent.args.path.startsWith("/tmp/") && intent.context.environment != "prod""#,
        "intent.targets.all(t, t.value.startsWith('/tmp/') && t.operation in ['read', 'write'])",
        "intent.targets.exists(t, [1, 2].exists(n, n > 0 && t.kind != '')) || size(intent.args) > 10",
        "intent.targets.map(t, t.value.split('/').filter(p, p != '').size()).all(n, n < 8)",
        "'%s:%s'.format([intent.tool_name, intent.context.identity]).lowerAscii().contains(':')",
        "intent.args.path.replace('/tmp/', '').size() < 64 && intent.args.path.matches('^/tmp/[a-z]+$')",
    ] {
        let condition = Condition::compile(source).unwrap_or_else(|e| panic!("{source}: {e}"));
        assert_eq!(eval_checked(&condition, &i), Ok(true), "{source}");
        let on_small = on_small_stack(|| eval_checked(&condition, &i));
        assert_eq!(on_small, Ok(true), "{source}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    /// Arbitrary text as a condition: compiling and evaluating never
    /// panics, and ends quickly, on a small stack.
    #[test]
    fn arbitrary_conditions_never_panic_or_hang(
        source in prop_oneof![
            ".{0,200}",
            "[-+*/%!<>=&|?:()\\[\\]{}.,'\" a-z0-9_]{0,300}",
            proptest::collection::vec(
                prop_oneof![
                    Just("intent.args.n"), Just("intent.targets"), Just(".map(x, "),
                    Just(".all(t, "), Just(".exists(e, "), Just(".filter(f, "), Just(")"),
                    Just(" + "), Just(" * "), Just(" && "), Just(" || "), Just(" == "),
                    Just("["), Just("]"), Just("'ab'"), Just("1"), Just(", "), Just("x"),
                    Just(".replace('a', 'aa')"), Just(".split('')"), Just("size("),
                    Just("("), Just("!"), Just("-"), Just(" ? "), Just(" : "),
                ],
                0..60,
            ).prop_map(|parts| parts.concat()),
        ]
    ) {
        let i = intent("low");
        let start = Instant::now();
        on_small_stack(|| {
            if let Ok(condition) = Condition::compile(&source) {
                let _ = eval_checked(&condition, &i);
            }
        });
        prop_assert!(start.elapsed() < Duration::from_secs(5), "{source}");
    }
}
