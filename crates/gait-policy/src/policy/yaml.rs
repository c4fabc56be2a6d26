//! Bounded, strict YAML reading into a small located tree.
//!
//! serde-saphyr does the YAML work (syntax, anchors and aliases, merge keys,
//! duplicate-key rejection, resource budgets). We read the whole document
//! into [`Node`]s that remember where each value came from, so that the typed
//! decoder in `decode.rs` can report the line, column and field of every
//! mistake, and can reproduce how the reference turns unquoted numbers and
//! booleans into strings.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::budget::BudgetBreach;
use serde_saphyr::{DuplicateKeyPolicy, Error as YamlError, NonFiniteFloatPolicy, Spanned, Tagged};

use super::error::PolicyError;

/// Largest policy accepted, in bytes.
pub const MAX_POLICY_BYTES: usize = 4 * 1024 * 1024;

/// A position in the source, 1-based. `line == 0` means unknown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Pos {
    pub(crate) line: u64,
    pub(crate) column: u64,
}

/// One YAML node: its value, where it is used, and the byte range of the
/// text that defined it (through an alias, the anchored definition).
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub(crate) value: Value,
    pub(crate) pos: Pos,
    defined: Option<(usize, usize)>,
    /// The node's explicit YAML tag (`!!binary`, `!foo`, ...), resolved;
    /// policies refuse every explicit tag ([`reject_tags`]).
    tag: Option<String>,
}

/// The value of a [`Node`], as YAML 1.2 core-schema inference gives it.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    /// Any integer that fits `i64` or `u64`.
    Int(i128),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The source text that defined this node, when the parser reported a
    /// byte range for it. Used for plain scalars only.
    pub(crate) fn source_text<'s>(&self, source: &'s str) -> Option<&'s str> {
        let (start, len) = self.defined?;
        source.get(start..start.checked_add(len)?)
    }

    /// A name for a non-string mapping key in messages.
    fn source_text_or_kind(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(true) => "true",
            Value::Bool(false) => "false",
            _ => "(key)",
        }
    }

    /// A short description of the node's kind, for type errors.
    pub(crate) fn kind(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a floating-point number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<Tagged<Value>>::deserialize(d)?;
        let span = spanned.defined.span();
        let defined = match (span.byte_offset(), span.byte_len()) {
            (Some(offset), Some(len)) => {
                usize::try_from(offset).ok().zip(usize::try_from(len).ok())
            }
            _ => None,
        };
        let Tagged(value, tag) = spanned.value;
        Ok(Node {
            value,
            tag,
            pos: Pos {
                line: spanned.referenced.line(),
                column: spanned.referenced.column(),
            },
            defined,
        })
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(i128::from(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Int(i128::from(v)))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        Ok(Value::Int(i128::try_from(v).unwrap_or(i128::MAX)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_char<E: de::Error>(self, v: char) -> Result<Value, E> {
        Ok(Value::Str(v.to_string()))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Value, E> {
        match std::str::from_utf8(v) {
            Ok(s) => Ok(Value::Str(s.to_owned())),
            Err(_) => Err(E::custom("binary values are not supported in a policy")),
        }
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(Value::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry::<Node, Node>()? {
            entries.push(entry);
        }
        Ok(Value::Map(entries))
    }
}

/// The serde-saphyr configuration for policies.
///
/// * Duplicate keys are an error (the reference's YAML library rejects them
///   too).
/// * Only the YAML 1.2 core booleans (`true`/`True`/`TRUE`,
///   `false`/`False`/`FALSE`) are booleans, as in the reference; `yes`, `on`
///   and friends stay strings, so `enabled: yes` is a type error rather than a
///   silent `true`.
/// * Non-finite floats reach the decoder, which reports them with the field's
///   name (a policy has no use for them).
/// * A budget bounds events, nodes, depth, anchors, aliases and alias replay,
///   so an alias bomb stops early with an error instead of exhausting memory.
/// * A policy is exactly one document.
fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_reader_input_bytes: Some(MAX_POLICY_BYTES),
            max_events: 1_000_000,
            max_aliases: 10_000,
            max_anchors: 10_000,
            max_depth: 32,
            max_documents: 1,
            max_nodes: 200_000,
            max_total_scalar_bytes: MAX_POLICY_BYTES,
            max_merge_keys: 1_000,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: 100_000,
            max_replay_stack_depth: 16,
        },
        duplicate_keys: DuplicateKeyPolicy::Error,
        strict_booleans: true,
        non_finite_float_policy: NonFiniteFloatPolicy::PassThrough,
        with_snippet: false,
    }
}

/// Parses `source` into a located tree. An empty document (or one holding
/// only comments) is YAML null.
pub(crate) fn parse(source: &str) -> Result<Node, PolicyError> {
    if source.len() > MAX_POLICY_BYTES {
        return Err(PolicyError::TooLarge {
            path: None,
            size: u64::try_from(source.len()).unwrap_or(u64::MAX),
            limit: MAX_POLICY_BYTES as u64,
        });
    }
    let root =
        serde_saphyr::from_str_with_options::<Node>(source, options()).map_err(yaml_error)?;
    reject_tags(&root, "", 0)?;
    Ok(root)
}

/// The tag as it is usually written: `!!binary` for the YAML namespace,
/// the resolved text otherwise.
fn tag_display(tag: &str) -> String {
    match tag.strip_prefix("tag:yaml.org,2002:") {
        Some(name) => format!("!!{name}"),
        None => tag.to_owned(),
    }
}

/// Refuses any node with an explicit YAML tag. A policy holds plain
/// scalars, lists and mappings only: a tag can change what a value means
/// (`!!binary` decodes base64 into text that differs from what a reviewer
/// reads; application tags such as `!!python/object` or `!foo` mean nothing
/// to Gait), so every tag, including the core schema's `!!str` or `!!int`,
/// is an error naming the line and the field. The depth is bounded by the
/// parser's budget; `depth` guards the recursion regardless.
fn reject_tags(node: &Node, field: &str, depth: usize) -> Result<(), PolicyError> {
    if let Some(tag) = node.tag.as_deref() {
        let field = if field.is_empty() {
            "(document)"
        } else {
            field
        };
        return Err(PolicyError::Invalid {
            path: None,
            line: node.pos.line,
            column: node.pos.column,
            field: field.to_owned(),
            message: format!(
                "YAML tag {} is not allowed in a policy (write a plain value without a tag)",
                tag_display(tag)
            ),
        });
    }
    if depth > 64 {
        return Err(PolicyError::Syntax {
            path: None,
            line: node.pos.line,
            column: node.pos.column,
            message: "policy nests too deeply".to_owned(),
        });
    }
    match &node.value {
        Value::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                reject_tags(item, &format!("{field}[{i}]"), depth + 1)?;
            }
        }
        Value::Map(entries) => {
            for (key, value) in entries {
                let name = match &key.value {
                    Value::Str(s) => s.clone(),
                    _ => key.source_text_or_kind().to_owned(),
                };
                let child = if field.is_empty() {
                    name
                } else {
                    format!("{field}.{name}")
                };
                reject_tags(key, &child, depth + 1)?;
                reject_tags(value, &child, depth + 1)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Converts a serde-saphyr error into ours, keeping its position and its
/// message (without the position suffix, which we render ourselves).
fn yaml_error(err: YamlError) -> PolicyError {
    let inner = err.without_snippet();
    let (line, column) = inner
        .location()
        .map(|l| (l.line(), l.column()))
        .unwrap_or((0, 0));
    if let YamlError::DuplicateMappingKey { key, .. } = inner {
        return PolicyError::DuplicateKey {
            path: None,
            line,
            column,
            key: key.clone().unwrap_or_default(),
        };
    }
    if let YamlError::Budget { breach, .. } = inner {
        let message = match breach {
            BudgetBreach::Documents { .. } => "a policy must be a single YAML document".to_owned(),
            other => format!(
                "resource limit exceeded ({other:?}); the policy is too large or expands too many aliases"
            ),
        };
        return PolicyError::Syntax {
            path: None,
            line,
            column,
            message,
        };
    }
    let mut message = inner.to_string();
    let suffix = format!(" at line {line}, column {column}");
    if let Some(stripped) = message.strip_suffix(&suffix) {
        message = stripped.to_owned();
    }
    PolicyError::Syntax {
        path: None,
        line,
        column,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(s: &str) -> Node {
        parse(s).unwrap()
    }

    #[test]
    fn empty_and_comment_only_documents_are_null() {
        assert!(matches!(parse_ok("").value, Value::Null));
        assert!(matches!(parse_ok("# nothing\n").value, Value::Null));
    }

    #[test]
    fn scalars_follow_yaml_1_2_core_schema() {
        let n = parse_ok("a: 12\nb: yes\nc: True\nd: ~\ne: 1.5\nf: '7'\n");
        let Value::Map(entries) = n.value else {
            panic!("map expected")
        };
        let kinds: Vec<&str> = entries.iter().map(|(_, v)| v.kind()).collect();
        assert_eq!(
            kinds,
            [
                "an integer",
                "a string",
                "a boolean",
                "null",
                "a floating-point number",
                "a string"
            ]
        );
    }

    #[test]
    fn plain_scalar_source_text_is_recoverable() {
        let src = "a: &x 0x1F\nb: *x\n";
        let n = parse_ok(src);
        let Value::Map(entries) = n.value else {
            panic!("map expected")
        };
        for (_, v) in &entries {
            assert_eq!(v.source_text(src), Some("0x1F"));
        }
        assert_eq!(entries[1].1.pos, Pos { line: 2, column: 4 });
    }

    #[test]
    fn duplicate_keys_are_rejected_with_position() {
        let err = parse("a: 1\nb: 2\na: 3\n").unwrap_err();
        match err {
            PolicyError::DuplicateKey {
                line, column, key, ..
            } => {
                assert_eq!((line, column), (3, 1));
                assert_eq!(key, "a");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn multiple_documents_are_rejected() {
        match parse("a: 1\n---\nb: 2\n") {
            Err(PolicyError::Syntax { message, .. }) => {
                assert_eq!(message, "a policy must be a single YAML document");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn alias_bomb_is_stopped_by_the_budget() {
        let mut src = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        let mut prev = 'a';
        for name in ['b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'] {
            let items = vec![format!("*{prev}"); 10].join(", ");
            src.push_str(&format!("{name}: &{name} [{items}]\n"));
            prev = name;
        }
        let err = parse(&src).unwrap_err();
        assert!(matches!(err, PolicyError::Syntax { .. }), "{err:?}");
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let src = format!("{}1{}", "[".repeat(100), "]".repeat(100));
        assert!(matches!(parse(&src), Err(PolicyError::Syntax { .. })));
    }

    #[test]
    fn syntax_errors_carry_a_position() {
        match parse("a: [1, 2\nb: 3\n").unwrap_err() {
            PolicyError::Syntax { line, message, .. } => {
                assert!(line >= 1);
                assert!(!message.contains(" at line "), "{message}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    /// Issue 11: every explicit YAML tag is refused, naming the line and the
    /// field; untagged values (and `!` inside quoted text) still load.
    #[test]
    fn explicit_yaml_tags_are_refused_with_field_and_line() {
        for (src, field, tag, line) in [
            (
                "rules:\n  - name: r\n    match:\n      tool_names: [!!binary dG9vbC53cml0ZQ==]\n",
                "rules[0].match.tool_names[0]",
                "!!binary",
                4,
            ),
            (
                "default_verdict: !!str allow\n",
                "default_verdict",
                "!!str",
                1,
            ),
            ("a:\n  b: !foo x\n", "a.b", "!foo", 2),
            (
                "a: !!python/object:os.system {}\n",
                "a",
                "!!python/object:os.system",
                1,
            ),
            ("a: !!int 3\n", "a", "!!int", 1),
            ("a: !!null\n", "a", "!!null", 1),
            ("a: !!bool true\n", "a", "!!bool", 1),
            ("!!map {a: 1}\n", "(document)", "!!map", 1),
            ("? !!str k\n: v\n", "k", "!!str", 1),
            ("a: &x !!binary aGk=\nb: *x\n", "a", "!!binary", 1),
        ] {
            match parse(src) {
                Err(PolicyError::Invalid {
                    field: f,
                    message,
                    line: l,
                    ..
                }) => {
                    assert_eq!(f, field, "{src}");
                    assert_eq!(l, line, "{src}");
                    assert!(
                        message.contains(&format!("YAML tag {tag} ")),
                        "{src}: {message}"
                    );
                }
                other => panic!("{src}: unexpected {other:?}"),
            }
        }
        parse_ok("a: '!!binary x'\nb: \"!foo\"\nc: x!y\n");
    }

    #[test]
    fn oversized_input_is_rejected_before_parsing() {
        let big = " ".repeat(MAX_POLICY_BYTES + 1);
        assert!(matches!(parse(&big), Err(PolicyError::TooLarge { .. })));
    }
}
