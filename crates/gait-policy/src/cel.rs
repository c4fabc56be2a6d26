//! CEL conditions for policy rules (`match.when`): **beyond the reference**.
//!
//! A rule's `match` may carry `when:`, a [Common Expression Language]
//! expression over one variable, `intent`. The policy loader compiles each
//! condition once ([`Condition::compile`]); the evaluator builds one
//! [`CelInput`] per evaluated intent (per step, for scripts) and calls
//! [`Condition::evaluate`] for every rule whose other selectors hold.
//!
//! ```
//! use gait_policy::cel::{CelInput, Condition};
//! use gait_policy::intent::Intent;
//!
//! let intent = Intent::from_json_str(r#"{
//!     "tool_name": "db.query",
//!     "args": {"sql": "SELECT * FROM t"},
//!     "targets": [{"kind": "table", "value": "t", "operation": "read"}],
//!     "context": {"identity": "alice", "workspace": "/w", "risk_class": "low"}
//! }"#)?;
//! let input = CelInput::new(
//!     intent.tool_name(),
//!     intent.args(),
//!     intent.targets(),
//!     intent.arg_provenance(),
//!     intent.context(),
//! );
//! let read_only = Condition::compile(r#"intent.args.sql.startsWith("SELECT")"#)?;
//! assert_eq!(read_only.evaluate(&input), Ok(true));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What a condition sees
//!
//! `intent` is a map:
//!
//! | Key | CEL type | Content |
//! |---|---|---|
//! | `tool_name` | `string` | the normalized tool name (a script step's own) |
//! | `args` | `map` | the normalized arguments, as JSON values |
//! | `targets` | `list(map)` | `kind`, `value`, `operation`, `sensitivity`, `endpoint_class`, `endpoint_domain`, `discovery_method` (strings), `destructive`, `read_only_hint`, `destructive_hint`, `idempotent_hint`, `open_world_hint` (bools) |
//! | `arg_provenance` | `list(map)` | `arg_path`, `source`, `source_ref`, `integrity_digest` (strings) |
//! | `context` | `map` | see below |
//!
//! `intent.context` holds every string field of the normalized context
//! (`identity`, `workspace`, `risk_class`, `phase`, `environment`,
//! `agent_id`, `run_id`, `workflow_id`, `repo`, `job_id`, `session_id`,
//! `request_id`, the `credential_*` strings, `approval_ref`,
//! `wrkr_inventory_ref`, `agent_action_bom_ref`, `environment_fingerprint`,
//! `context_set_digest`, `context_evidence_mode`), `credential_ttl_seconds`
//! (`int`), `credential_scopes` and `context_refs` (`list(string)`), and
//! `auth_context` (`map`, empty when the intent has none). A field the intent
//! leaves unset is the empty string, so comparing it is `false`, never an
//! error. Enumerations are their wire strings (`"fs.write"`, `"apply"`,
//! `"tool_output"`, ...). `agent_identity` and `sandbox` are not exposed.
//!
//! JSON values map to CEL as `null`, `bool`, `string`, `list` and `map`; a
//! number is read as the `f64` the intent digest sees, and is an `int` when
//! that is integral (and fits), else a `double`. So `{"n": 5}` and
//! `{"n": 5.0}`, which have the same digest, also behave the same:
//! `intent.args.n == 5` holds for both.
//!
//! # Language
//!
//! The CEL standard library (operators, `size`, `in`, `has()`, `all`,
//! `exists`, `exists_one`, `map`, `filter`, `startsWith`, `endsWith`,
//! `contains`, `matches` (RE2-like syntax of the `regex` crate), the
//! conversions `int`, `uint`, `double`, `string`, `bool`, `bytes`, `type`,
//! `dyn`, and optionals such as `intent.args[?"k"].orValue("")`), plus the
//! strings extension (`lowerAscii`, `upperAscii`, `trim`, `replace`,
//! `split`, `join`, `indexOf`, `lastIndexOf`, `substring`, `charAt`,
//! `format`, `reverse`, `strings.quote`). `duration` and `timestamp` are not
//! available.
//!
//! # Compile-time checks
//!
//! [`Condition::compile`] rejects, so that a typo fails when the policy
//! loads rather than when a call is gated:
//!
//! * syntax errors;
//! * a variable other than `intent` (and the variables a macro such as
//!   `all(t, ...)` binds, and type names such as `int`);
//! * a function or method the environment does not declare
//!   (`startswith` for `startsWith`);
//! * a `matches` pattern given as a literal that is not a valid regular
//!   expression.
//!
//! Types are checked only at evaluation: CEL here is dynamically typed.
//!
//! # Evaluation semantics
//!
//! [`Condition::evaluate`] returns `Ok(true)` or `Ok(false)` when the
//! expression yields a `bool`, and `Err` when evaluation fails (a missing map
//! key, a type mismatch, a bad regular expression built at run time, ...) or
//! yields anything other than a `bool`. `&&` and `||` follow CEL's
//! commutative error absorption: `false && <error>` is `false`, and
//! `true || <error>` is `true`. Guard optional keys with `has()`:
//! `has(intent.args.force) && intent.args.force`.
//!
//! The evaluator treats the outcomes as follows:
//!
//! * `Ok(true)`: the condition holds; the rule matches if its other
//!   selectors do;
//! * `Ok(false)`: the rule does not match;
//! * `Err(_)`: the rule does not match, the decision carries the reason
//!   code `cel_condition_error`, and for a `high` or `critical` risk class
//!   the gate fails closed (blocks);
//! * an evaluation limit exceeded (see [Limits](#limits)): the decision
//!   blocks whatever the risk class, with the reason codes
//!   `cel_condition_error` and `cel_limit_exceeded`.
//!
//! Error messages may quote values of the intent: treat them like the
//! intent itself when logging.
//!
//! # Limits
//!
//! A policy is input too: no condition that loads may overflow a stack or
//! run without end on any boundary (the CLI, `serve` on tokio worker
//! threads, the MCP proxy threads). The `cel` crate's parser and
//! interpreter recurse on the expression tree and have no step hook, so
//! conditions are bounded in two ways.
//!
//! **When a condition loads** ([`Condition::compile`]), it is refused
//! (and the policy with it, naming the rule and `match.when`) when:
//!
//! * its source is longer than [`MAX_SOURCE_BYTES`] (4,096 bytes);
//! * `(`, `[` and `{` nest more than [`MAX_BRACKET_NESTING`] (24) deep,
//!   found by a scan before the parser runs;
//! * its tree (after macro expansion) is deeper than [`MAX_DEPTH`] (32
//!   levels: a chain of more than about 30 `+` terms; `&&` and `||`
//!   chains are balanced and count about `log2` of their length) or has
//!   more than [`MAX_NODES`] (1,000) nodes, measured without recursion;
//! * comprehension macros (`all`, `exists`, `exists_one`, `map`,
//!   `filter`) nest more than [`MAX_COMPREHENSION_NESTING`] (3) deep;
//! * a literal `matches` pattern compiles to more than
//!   [`MAX_REGEX_PROGRAM_BYTES`] (256 KiB).
//!
//! Parsing runs on a stack segment of its own (64 MiB, mapped lazily), so
//! that even a refused source cannot overflow the caller's stack.
//!
//! **While a condition evaluates**, it is metered rather than
//! reinterpreted: the loader adds calls to internal functions (their names
//! start with `@`, which CEL source cannot write) around the places where
//! work or memory can multiply, keeping every shape the interpreter
//! recognises. Costs are counted in *units*: one per scalar, list element
//! and map entry, plus one per byte of a string.
//!
//! * Before a comprehension runs, its range is charged: its size, plus
//!   the loop body's node count per element.
//! * Every iteration is charged the size of what its body yields, and
//!   every value that can grow (`+`, `format`, `join`, `split`, `quote`,
//!   conversions, list and map literals, comprehension results) is
//!   charged its size; a value over [`MAX_VALUE_UNITS`] (1 Mi units) is
//!   refused.
//! * `indexOf` and `lastIndexOf` search in linear time (the strings
//!   extension compares every window); `replace` is refused before it
//!   runs when its result could exceed
//!   [`MAX_VALUE_UNITS`], and a `matches` pattern built at run time is
//!   refused when its program would exceed [`MAX_REGEX_PROGRAM_BYTES`].
//! * Each charge checks the budget ([`MAX_COST`], 2,000,000 units) and the
//!   wall time ([`MAX_EVAL_TIME`], 100 ms).
//!
//! Between two charges the interpreter evaluates at most the nodes of one
//! loop body on values of at most [`MAX_VALUE_UNITS`], so the time past a
//! limit is bounded. Exceeding a limit is [`EvalError::LimitExceeded`],
//! even where `&&`, `||` or a macro would absorb an ordinary error. The
//! evaluator then fails closed at every risk class: the decision blocks,
//! with the reason codes `cel_condition_error` and `cel_limit_exceeded`.
//!
//! Evaluation runs on the caller's thread when it has enough stack left
//! for the condition's depth (in release builds 128 KiB plus 16 KiB per
//! level of the metered tree, at most about 1.2 MiB); otherwise on a
//! stack segment of twice that size (the `stacker` crate), so a thread
//! with a small stack (tests use 256 KiB) is safe.
//!
//! Why not an interpreter of our own with a step counter: it would have to
//! repeat the `cel` crate's semantics (error absorption, optionals,
//! overloads, number equality) and keep them in step with it; metering
//! keeps the crate's results unchanged for every condition within the
//! limits.
//!
//! # Cost
//!
//! Measured on a release build (2-core x86_64 VM): compiling a condition
//! takes tens of microseconds, once per policy load. [`CelInput::new`] only
//! records references; a condition converts the parts of `intent` it reads
//! on first use, cached for the other conditions on the same input. Building
//! the input and evaluating `intent.args.sql.startsWith("SELECT") &&
//! intent.context.environment == "prod"` takes about 0.7 µs; equality
//! alone about 0.1 µs; `all()` over two targets about 1.7 µs. `matches()`
//! compiles its pattern on every evaluation (about 7 µs for a trivial one):
//! prefer `startsWith`, `endsWith`, `contains` or `in` on hot rules. Nested
//! comprehensions over intent lists cost the product of their lengths.
//!
//! [Common Expression Language]: https://cel.dev

use std::collections::HashMap;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, OnceLock};

use cel::common::ast::{EntryExpr, Expr, IdedExpr, LiteralValue, operators};
use cel::common::types::{
    CelBool, CelDouble, CelInt, CelList, CelMap, CelMapKey, CelNull, CelString,
};
use cel::common::value::{CowVal, Val};
use cel::context::VariableResolver;
use cel::{Env, Value as CelValue};
use gait_digest::Sha256Digest;
use serde_json::{Map, Number, Value};

use crate::intent::{ArgProvenance, Context, Target};

mod limits;

pub use limits::{
    MAX_BRACKET_NESTING, MAX_COMPREHENSION_NESTING, MAX_COST, MAX_DEPTH, MAX_EVAL_TIME, MAX_NODES,
    MAX_REGEX_PROGRAM_BYTES, MAX_SOURCE_BYTES, MAX_VALUE_UNITS,
};

/// The one variable a condition may reference.
pub const INTENT_VARIABLE: &str = "intent";

/// A compiled CEL condition (a rule's `match.when`).
///
/// Cheap to clone (the program is shared), `Send + Sync`, and compared by
/// its source text, from which the program is compiled deterministically.
#[derive(Clone)]
pub struct Condition {
    inner: Arc<Compiled>,
}

struct Compiled {
    source: String,
    /// The checked expression with its metering calls
    /// (see [`limits::rewrite`]).
    expr: IdedExpr,
    /// The stack its evaluation keeps free ([`limits::stack_need`]).
    stack: usize,
}

/// Why a condition does not compile ([`Condition::compile`]).
///
/// The texts are one line each; the policy loader quotes them in its
/// `invalid CEL condition for <rule>: ...` message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CompileError {
    /// The CEL environment could not be built (then nothing compiles).
    #[error("CEL environment: {0}")]
    Environment(String),
    /// The source is longer than [`MAX_SOURCE_BYTES`].
    #[error("condition too long: {bytes} bytes (at most {max})", max = MAX_SOURCE_BYTES)]
    TooLong {
        /// The source's length in bytes.
        bytes: usize,
    },
    /// Brackets nest deeper than [`MAX_BRACKET_NESTING`].
    #[error(
        "condition nested too deeply: more than {max} levels of brackets",
        max = MAX_BRACKET_NESTING
    )]
    BracketsTooDeep,
    /// The tree has more than [`MAX_NODES`] nodes.
    #[error("condition too large: more than {max} expression nodes", max = MAX_NODES)]
    TooManyNodes,
    /// The tree is deeper than [`MAX_DEPTH`].
    #[error(
        "condition nested too deeply: more than {max} levels of expressions",
        max = MAX_DEPTH
    )]
    TooDeep,
    /// Comprehension macros nest deeper than
    /// [`MAX_COMPREHENSION_NESTING`].
    #[error(
        "condition nests comprehension macros (all, exists, exists_one, map, filter) more than {max} deep",
        max = MAX_COMPREHENSION_NESTING
    )]
    ComprehensionsTooDeep,
    /// No stack segment could be mapped for the parser.
    #[error("no stack could be mapped to compile this condition")]
    StackUnavailable,
    /// The parser itself failed.
    #[error("the CEL parser failed on this expression")]
    ParserFailed,
    /// The source is not CEL.
    #[error("{}", syntax_text(.0))]
    Syntax(Vec<SyntaxError>),
    /// A variable other than `intent` (or one a macro binds).
    #[error("undeclared variable {0:?}: conditions can only refer to `intent`")]
    UndeclaredVariable(String),
    /// A function or method the environment does not declare.
    #[error("undeclared function {0:?}")]
    UndeclaredFunction(String),
    /// A message type the environment does not declare.
    #[error("undeclared type {0:?}")]
    UndeclaredType(String),
    /// A literal `matches()` pattern is not a valid (bounded) regular
    /// expression.
    #[error("invalid matches() pattern: {0}")]
    InvalidPattern(#[source] regex::Error),
}

/// One syntax error of a condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// The parser's line.
    pub line: isize,
    /// The parser's column.
    pub column: isize,
    /// What the parser says, without its `Syntax error: ` prefix.
    pub message: String,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "syntax error at {}:{}: {}",
            self.line, self.column, self.message
        )
    }
}

fn syntax_text(errors: &[SyntaxError]) -> String {
    if errors.is_empty() {
        return "syntax error".to_owned();
    }
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Why a condition could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EvalError {
    /// Evaluation failed (a missing key, a type mismatch, ...) or did not
    /// yield a `bool`.
    Failed(String),
    /// The evaluation exceeded its cost budget ([`MAX_COST`]), its time
    /// limit ([`MAX_EVAL_TIME`]) or the size of a value
    /// ([`MAX_VALUE_UNITS`], [`MAX_REGEX_PROGRAM_BYTES`]). The evaluator
    /// blocks whatever the risk class.
    LimitExceeded(String),
}

impl EvalError {
    /// Whether this is [`EvalError::LimitExceeded`].
    pub fn is_limit_exceeded(&self) -> bool {
        matches!(self, EvalError::LimitExceeded(_))
    }
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EvalError::Failed(message) => f.write_str(message),
            EvalError::LimitExceeded(message) => write!(f, "CEL resource limit: {message}"),
        }
    }
}

impl std::error::Error for EvalError {}

impl Condition {
    /// Compiles `source` (used as given: the policy loader trims it first).
    ///
    /// # Errors
    ///
    /// A [`CompileError`] for a syntax error, a load-time limit, a
    /// reference to a variable other than `intent`, an undeclared function,
    /// or an invalid literal `matches` pattern (see the
    /// [module documentation](self)).
    pub fn compile(source: &str) -> Result<Condition, CompileError> {
        let env = environment()?;
        limits::prescan(source)?;
        // The generated parser recurses deeply on long sources: parse, and
        // drop a refused tree, on a stack segment of known size.
        // (`stacker` panics when it cannot map the segment: a load error.)
        let expr = catch_unwind(AssertUnwindSafe(|| {
            stacker::grow(limits::COMPILE_STACK, || compile_tree(env, source))
        }))
        .map_err(|_| CompileError::StackUnavailable)??;
        let stack = limits::stack_need(limits::depth(&expr));
        Ok(Condition {
            inner: Arc::new(Compiled {
                source: source.to_owned(),
                expr,
                stack,
            }),
        })
    }

    /// The expression text this condition was compiled from.
    pub fn source(&self) -> &str {
        &self.inner.source
    }

    /// Evaluates the condition against one intent within the evaluation
    /// limits (see [Limits](self#limits)).
    ///
    /// # Errors
    ///
    /// [`EvalError::LimitExceeded`] when a limit is reached (whatever
    /// `&&`, `||` or a macro made of the error), else
    /// [`EvalError::Failed`] when evaluation fails or the result is not a
    /// `bool`. The evaluator maps an error to no match plus the reason
    /// code `cel_condition_error` (failing closed on high and critical
    /// risk, and on any exceeded limit).
    pub fn evaluate(&self, input: &CelInput<'_>) -> Result<bool, EvalError> {
        let run = || {
            let mut context = cel::Context::with_env(Arc::clone(&shared_env().env));
            context.set_variable_resolver(input);
            CelValue::resolve(&self.inner.expr, &context)
        };
        // The depth limits bound the interpreter's recursion: keep the
        // stack it needs free, on whatever thread this runs (`stacker`
        // panics when it cannot map a segment: a limit error, so the gate
        // blocks).
        let stack = self.inner.stack;
        let (outcome, exceeded) = catch_unwind(AssertUnwindSafe(|| {
            stacker::maybe_grow(stack, stack.saturating_mul(2), || {
                limits::metered(|| catch_unwind(AssertUnwindSafe(run)))
            })
        }))
        .map_err(|_| {
            EvalError::LimitExceeded(
                "no stack could be mapped to evaluate this condition".to_owned(),
            )
        })?;
        if let Some(reason) = exceeded {
            return Err(EvalError::LimitExceeded(reason));
        }
        match outcome {
            Ok(Ok(CelValue::Bool(b))) => Ok(b),
            Ok(Ok(other)) => Err(EvalError::Failed(format!(
                "condition evaluated to a {}, not a bool",
                other.type_of()
            ))),
            Ok(Err(e)) => Err(EvalError::Failed(e.to_string())),
            Err(_) => Err(EvalError::Failed(
                "the CEL interpreter failed on this condition".to_owned(),
            )),
        }
    }
}

/// Parses `source`, checks the tree's shape, names and patterns, and adds
/// the metering calls.
fn compile_tree(env: &Arc<Env>, source: &str) -> Result<IdedExpr, CompileError> {
    let parsed = catch_unwind(AssertUnwindSafe(|| env.parser().parse(source)))
        .map_err(|_| CompileError::ParserFailed)?
        .map_err(|errors| {
            CompileError::Syntax(
                errors
                    .errors
                    .iter()
                    .map(|e| SyntaxError {
                        line: e.pos.0,
                        column: e.pos.1,
                        message: e
                            .msg
                            .strip_prefix("Syntax error: ")
                            .unwrap_or(&e.msg)
                            .to_owned(),
                    })
                    .collect(),
            )
        })?;
    limits::check_shape(&parsed)?;
    Checker::new(env).check(&parsed, &mut Vec::new())?;
    Ok(limits::rewrite(parsed))
}

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Condition")
            .field(&self.inner.source)
            .finish()
    }
}

impl PartialEq for Condition {
    fn eq(&self, other: &Self) -> bool {
        self.inner.source == other.inner.source
    }
}

impl Eq for Condition {}

/// The CEL view of one intent: built once per evaluated intent (or script
/// step), then evaluated against every rule's [`Condition`].
///
/// Building it only records references. The parts of `intent` are turned
/// into CEL values when a condition first reads them (then cached for the
/// other conditions): `intent.context.environment` and
/// `intent.tool_name` are answered directly, `intent.args`,
/// `intent.targets`, `intent.arg_provenance`, `intent.context` and
/// `intent.context.auth_context` are converted once each, and the whole
/// `intent` map only for a condition that uses it as a value (such as
/// `size(intent)`). Strings are borrowed, not copied. See the
/// [module documentation](self) for what the variable holds.
pub struct CelInput<'a> {
    tool_name: &'a str,
    args: &'a Map<String, Value>,
    targets: &'a [Target],
    arg_provenance: &'a [ArgProvenance],
    context: &'a Context,
    cache: Cache<'a>,
}

/// The parts of `intent` converted so far.
#[derive(Default)]
struct Cache<'a> {
    intent: OnceLock<BoxVal<'a>>,
    args: OnceLock<BoxVal<'a>>,
    targets: OnceLock<BoxVal<'a>>,
    arg_provenance: OnceLock<BoxVal<'a>>,
    context: OnceLock<BoxVal<'a>>,
    auth_context: OnceLock<BoxVal<'a>>,
}

impl<'a> CelInput<'a> {
    /// Binds the `intent` variable to a normalized intent's parts (for a
    /// script step: the step's tool name, args, targets and provenance, with
    /// the intent's context).
    pub fn new(
        tool_name: &'a str,
        args: &'a Map<String, Value>,
        targets: &'a [Target],
        arg_provenance: &'a [ArgProvenance],
        context: &'a Context,
    ) -> CelInput<'a> {
        CelInput {
            tool_name,
            args,
            targets,
            arg_provenance,
            context,
            cache: Cache::default(),
        }
    }

    fn args(&self) -> &BoxVal<'a> {
        self.cache.args.get_or_init(|| json_object(self.args))
    }

    fn targets(&self) -> &BoxVal<'a> {
        self.cache
            .targets
            .get_or_init(|| list(self.targets.iter().map(target)))
    }

    fn arg_provenance(&self) -> &BoxVal<'a> {
        self.cache
            .arg_provenance
            .get_or_init(|| list(self.arg_provenance.iter().map(provenance)))
    }

    fn context(&self) -> &BoxVal<'a> {
        self.cache.context.get_or_init(|| context_map(self.context))
    }

    fn auth_context(&self) -> &BoxVal<'a> {
        self.cache
            .auth_context
            .get_or_init(|| auth_context(self.context))
    }

    /// The whole `intent` map (its parts converted anew: they are owned by
    /// the map).
    fn intent(&self) -> &BoxVal<'a> {
        self.cache.intent.get_or_init(|| {
            map([
                ("tool_name", string(self.tool_name)),
                ("args", json_object(self.args)),
                ("targets", list(self.targets.iter().map(target))),
                (
                    "arg_provenance",
                    list(self.arg_provenance.iter().map(provenance)),
                ),
                ("context", context_map(self.context)),
            ])
        })
    }
}

/// Resolves `intent` and the qualified names under it. The interpreter
/// looks a name like `intent.context.environment` up whole first, then
/// `intent.context` (selecting `environment`), then `intent`; answering
/// the longer names spares converting what a condition does not read.
/// Every answer equals the selection on the whole `intent` map.
impl VariableResolver for CelInput<'_> {
    fn resolve<'b>(&'b self, variable: &str) -> Option<CowVal<'b, 'b>> {
        let variable = variable.strip_prefix('.').unwrap_or(variable);
        let rest = variable.strip_prefix(INTENT_VARIABLE)?;
        if rest.is_empty() {
            return Some(CowVal::Borrowed(self.intent().as_ref()));
        }
        let borrowed = |v: &'b BoxVal<'_>| Some(CowVal::Borrowed(v.as_ref()));
        match rest.strip_prefix('.')? {
            "tool_name" => Some(CowVal::Owned(string(self.tool_name))),
            "args" => borrowed(self.args()),
            "targets" => borrowed(self.targets()),
            "arg_provenance" => borrowed(self.arg_provenance()),
            "context" => borrowed(self.context()),
            "context.auth_context" => borrowed(self.auth_context()),
            other => {
                let field = other.strip_prefix("context.")?;
                context_field(self.context, field).map(CowVal::Owned)
            }
        }
    }
}

impl fmt::Debug for CelInput<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CelInput")
            .field("tool_name", &self.tool_name)
            .field("args", self.args)
            .field("targets", &self.targets)
            .field("arg_provenance", &self.arg_provenance)
            .field("context", self.context)
            .finish_non_exhaustive()
    }
}

// ---- the shared environment ---------------------------------------------------

struct SharedEnv {
    env: Arc<Env>,
    /// Why the environment is incomplete, if it is (then nothing compiles).
    error: Option<String>,
}

fn shared_env() -> &'static SharedEnv {
    static ENV: OnceLock<SharedEnv> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Env::stdlib();
        let error = env
            .add_extension(cel::extensions::strings)
            .and_then(|()| limits::declare(&mut env))
            .err()
            .map(|e| e.to_string());
        SharedEnv {
            env: Arc::new(env),
            error,
        }
    })
}

fn environment() -> Result<&'static Arc<Env>, CompileError> {
    let shared = shared_env();
    match &shared.error {
        Some(e) => Err(CompileError::Environment(e.clone())),
        None => Ok(&shared.env),
    }
}

// ---- compile-time checks ----------------------------------------------------------

/// Operators the interpreter implements itself (not as overloads), and the
/// internal calls macros expand to.
const BUILTIN_CALLS: &[&str] = &[
    operators::CONDITIONAL,
    operators::LOGICAL_AND,
    operators::LOGICAL_OR,
    operators::LOGICAL_NOT,
    operators::SUBSTRACT,
    operators::ADD,
    operators::MULTIPLY,
    operators::DIVIDE,
    operators::MODULO,
    operators::EQUALS,
    operators::NOT_EQUALS,
    operators::GREATER_EQUALS,
    operators::LESS_EQUALS,
    operators::GREATER,
    operators::LESS,
    operators::NEGATE,
    operators::INDEX,
    operators::OPT_INDEX,
    operators::OPT_SELECT,
    operators::NOT_STRICTLY_FALSE,
    operators::IN,
];

/// Walks a compiled expression for unknown variables, unknown functions and
/// invalid literal regular expressions.
struct Checker<'e> {
    env: &'e Env,
    /// Declares nothing: used to ask whether a name is an overload of `env`
    /// (adding a function of that name then fails).
    probe: cel::Context<'static, 'static>,
}

impl<'e> Checker<'e> {
    fn new(env: &'e Arc<Env>) -> Checker<'e> {
        Checker {
            env,
            probe: cel::Context::with_env(Arc::clone(env)),
        }
    }

    fn is_function(&mut self, name: &str) -> bool {
        BUILTIN_CALLS.contains(&name) || self.probe.add_function(name, || false).is_err()
    }

    fn check(&mut self, e: &IdedExpr, bound: &mut Vec<String>) -> Result<(), CompileError> {
        match &e.expr {
            Expr::Unspecified | Expr::Literal(_) => Ok(()),
            Expr::Ident(name) => {
                let name = name.strip_prefix('.').unwrap_or(name);
                if name == INTENT_VARIABLE
                    || bound.iter().any(|b| b == name)
                    || self.env.types().find_type(name).is_some()
                {
                    Ok(())
                } else {
                    Err(CompileError::UndeclaredVariable(name.to_owned()))
                }
            }
            Expr::Select(select) => self.check(&select.operand, bound),
            Expr::Call(call) => {
                if let Some(target) = &call.target {
                    // `strings.quote(x)`: a function in a namespace.
                    if let Some(qualified) = qualified_name(target) {
                        let root = qualified.split('.').next().unwrap_or_default();
                        if root != INTENT_VARIABLE
                            && !bound.iter().any(|b| b == root)
                            && self.is_function(&format!("{qualified}.{}", call.func_name))
                        {
                            return call.args.iter().try_for_each(|a| self.check(a, bound));
                        }
                    }
                }
                if !self.is_function(&call.func_name) {
                    return Err(CompileError::UndeclaredFunction(call.func_name.clone()));
                }
                if call.func_name == "matches" {
                    let pattern = match &call.target {
                        Some(_) => call.args.first(),
                        None => call.args.get(1),
                    };
                    if let Some(IdedExpr {
                        expr: Expr::Literal(LiteralValue::String(p)),
                        ..
                    }) = pattern
                    {
                        limits::bounded_regex(p.inner()).map_err(CompileError::InvalidPattern)?;
                    }
                }
                if let Some(target) = &call.target {
                    self.check(target, bound)?;
                }
                call.args.iter().try_for_each(|a| self.check(a, bound))
            }
            Expr::Comprehension(c) => {
                self.check(&c.iter_range, bound)?;
                self.check(&c.accu_init, bound)?;
                let depth = bound.len();
                bound.push(c.iter_var.clone());
                bound.extend(c.iter_var2.iter().cloned());
                bound.push(c.accu_var.clone());
                let result = self
                    .check(&c.loop_cond, bound)
                    .and_then(|()| self.check(&c.loop_step, bound))
                    .and_then(|()| self.check(&c.result, bound));
                bound.truncate(depth);
                result
            }
            Expr::List(l) => l.elements.iter().try_for_each(|x| self.check(x, bound)),
            Expr::Map(m) => m.entries.iter().try_for_each(|entry| match &entry.expr {
                EntryExpr::MapEntry(me) => {
                    self.check(&me.key, bound)?;
                    self.check(&me.value, bound)
                }
                EntryExpr::StructField(f) => self.check(&f.value, bound),
            }),
            Expr::Struct(s) => {
                if self.env.types().find_struct(&s.type_name).is_none() {
                    return Err(CompileError::UndeclaredType(s.type_name.clone()));
                }
                s.entries.iter().try_for_each(|entry| match &entry.expr {
                    EntryExpr::StructField(f) => self.check(&f.value, bound),
                    EntryExpr::MapEntry(me) => {
                        self.check(&me.key, bound)?;
                        self.check(&me.value, bound)
                    }
                })
            }
        }
    }
}

/// `a.b.c` for an identifier with field selections, else `None`.
fn qualified_name(e: &IdedExpr) -> Option<String> {
    match &e.expr {
        Expr::Ident(name) => Some(name.strip_prefix('.').unwrap_or(name).to_owned()),
        Expr::Select(s) if !s.test => {
            qualified_name(&s.operand).map(|prefix| format!("{prefix}.{}", s.field))
        }
        _ => None,
    }
}

// ---- building the input -------------------------------------------------------------

type BoxVal<'a> = Box<dyn Val + 'a>;

fn string(s: &str) -> BoxVal<'_> {
    Box::new(CelString::from(s))
}

fn owned_string(s: String) -> BoxVal<'static> {
    Box::new(CelString::from(s))
}

fn boolean(b: bool) -> BoxVal<'static> {
    Box::new(CelBool::from(b))
}

fn list<'a>(items: impl Iterator<Item = BoxVal<'a>>) -> BoxVal<'a> {
    Box::new(CelList::from(items.collect::<Vec<_>>()))
}

fn strings(items: &[String]) -> BoxVal<'_> {
    list(items.iter().map(|s| string(s)))
}

fn map<'a, const N: usize>(entries: [(&'static str, BoxVal<'a>); N]) -> BoxVal<'a> {
    let map: HashMap<CelMapKey<'a>, BoxVal<'a>> = entries
        .into_iter()
        .map(|(k, v)| (CelMapKey::from(k), v))
        .collect();
    Box::new(CelMap::from(map))
}

fn json(value: &Value) -> BoxVal<'_> {
    match value {
        Value::Null => Box::new(CelNull),
        Value::Bool(b) => boolean(*b),
        Value::Number(n) => number(n),
        Value::String(s) => string(s),
        Value::Array(items) => list(items.iter().map(json)),
        Value::Object(members) => json_object(members),
    }
}

fn json_object(members: &Map<String, Value>) -> BoxVal<'_> {
    let map: HashMap<CelMapKey<'_>, BoxVal<'_>> = members
        .iter()
        .map(|(k, v)| (CelMapKey::from(k.as_str()), json(v)))
        .collect();
    Box::new(CelMap::from(map))
}

/// A JSON number as the digest sees it (an `f64`): an `int` when integral
/// and within `i64`, else a `double`.
fn number(n: &Number) -> BoxVal<'static> {
    // 2^63: the first integral f64 outside i64.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    let f = n.as_f64().unwrap_or(f64::NAN);
    if f.fract() == 0.0 && (-LIMIT..LIMIT).contains(&f) {
        // Integral and in range: the conversion is exact.
        let i = f as i64;
        Box::new(CelInt::from(i))
    } else {
        Box::new(CelDouble::from(f))
    }
}

fn target(t: &Target) -> BoxVal<'_> {
    map([
        ("kind", string(t.kind.as_str())),
        ("value", string(&t.value)),
        ("operation", string(&t.operation)),
        ("sensitivity", string(&t.sensitivity)),
        ("endpoint_class", string(t.endpoint_class.as_str())),
        ("endpoint_domain", string(&t.endpoint_domain)),
        ("destructive", boolean(t.destructive)),
        ("discovery_method", string(t.discovery_method.as_str())),
        ("read_only_hint", boolean(t.read_only_hint)),
        ("destructive_hint", boolean(t.destructive_hint)),
        ("idempotent_hint", boolean(t.idempotent_hint)),
        ("open_world_hint", boolean(t.open_world_hint)),
    ])
}

fn provenance(p: &ArgProvenance) -> BoxVal<'_> {
    map([
        ("arg_path", string(&p.arg_path)),
        ("source", string(p.source.as_str())),
        ("source_ref", string(&p.source_ref)),
        (
            "integrity_digest",
            p.integrity_digest
                .map_or_else(|| string(""), |d| owned_string(d.to_hex())),
        ),
    ])
}

/// The keys of `intent.context`, in documentation order.
const CONTEXT_FIELDS: [&str; 31] = [
    "identity",
    "workspace",
    "risk_class",
    "phase",
    "agent_id",
    "run_id",
    "workflow_id",
    "repo",
    "environment",
    "job_id",
    "session_id",
    "request_id",
    "credential_ref",
    "credential_source",
    "credential_access_type",
    "credential_issuer",
    "credential_subject",
    "credential_owner",
    "credential_target_binding",
    "credential_run_binding",
    "credential_job_binding",
    "credential_ttl_seconds",
    "credential_scopes",
    "approval_ref",
    "wrkr_inventory_ref",
    "agent_action_bom_ref",
    "environment_fingerprint",
    "context_set_digest",
    "context_evidence_mode",
    "context_refs",
    "auth_context",
];

fn context_map(c: &Context) -> BoxVal<'_> {
    let map: HashMap<CelMapKey<'_>, BoxVal<'_>> = CONTEXT_FIELDS
        .iter()
        .filter_map(|&name| Some((CelMapKey::from(name), context_field(c, name)?)))
        .collect();
    Box::new(CelMap::from(map))
}

fn auth_context(c: &Context) -> BoxVal<'_> {
    match &c.auth_context {
        Some(members) => json_object(members),
        None => Box::new(CelMap::from(HashMap::new())),
    }
}

/// `intent.context.<name>`: `Some` exactly for the [`CONTEXT_FIELDS`].
fn context_field<'a>(c: &'a Context, name: &str) -> Option<BoxVal<'a>> {
    let digest =
        |d: Option<Sha256Digest>| d.map_or_else(|| string(""), |d| owned_string(d.to_hex()));
    Some(match name {
        "identity" => string(&c.identity),
        "workspace" => string(&c.workspace),
        "risk_class" => string(&c.risk_class),
        "phase" => string(c.phase.as_str()),
        "agent_id" => string(&c.agent_id),
        "run_id" => string(&c.run_id),
        "workflow_id" => string(&c.workflow_id),
        "repo" => string(&c.repo),
        "environment" => string(&c.environment),
        "job_id" => string(&c.job_id),
        "session_id" => string(&c.session_id),
        "request_id" => string(&c.request_id),
        "credential_ref" => string(&c.credential_ref),
        "credential_source" => string(c.credential_source.map_or("", |s| s.as_str())),
        "credential_access_type" => string(c.credential_access_type.map_or("", |s| s.as_str())),
        "credential_issuer" => string(&c.credential_issuer),
        "credential_subject" => string(&c.credential_subject),
        "credential_owner" => string(&c.credential_owner),
        "credential_target_binding" => string(&c.credential_target_binding),
        "credential_run_binding" => string(&c.credential_run_binding),
        "credential_job_binding" => string(&c.credential_job_binding),
        "credential_ttl_seconds" => Box::new(CelInt::from(c.credential_ttl_seconds)),
        "credential_scopes" => strings(&c.credential_scopes),
        "approval_ref" => string(&c.approval_ref),
        "wrkr_inventory_ref" => string(&c.wrkr_inventory_ref),
        "agent_action_bom_ref" => string(&c.agent_action_bom_ref),
        "environment_fingerprint" => string(&c.environment_fingerprint),
        "context_set_digest" => digest(c.context_set_digest),
        "context_evidence_mode" => string(c.context_evidence_mode.map_or("", |m| m.as_str())),
        "context_refs" => strings(&c.context_refs),
        "auth_context" => auth_context(c),
        _ => return None,
    })
}

// `Gate` shares policies (and so conditions) across threads.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<Condition>();
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intent::Intent;

    const INTENT: &str = r#"{
        "tool_name": "db.query",
        "args": {
            "sql": "SELECT * FROM users",
            "limit": 5,
            "ratio": 0.5,
            "whole": 7.0,
            "big": 9007199254740993.0,
            "flags": ["dry", "fast"],
            "nested": {"opts": {"mode": "ro", "depth": 2}, "empty": {}},
            "none": null,
            "force": false
        },
        "targets": [
            {"kind": "path", "value": "/tmp/a.txt", "operation": "read"},
            {"kind": "path", "value": "/tmp/b/c.txt", "operation": "write",
             "sensitivity": "Internal"}
        ],
        "arg_provenance": [{"arg_path": "$.sql", "source": "user"}],
        "context": {"identity": "alice", "workspace": "/repo", "risk_class": "HIGH",
                    "environment": "prod", "session_id": "s-1",
                    "credential_scopes": ["repo:read", "db:read"],
                    "auth_context": {"tenant": "acme", "roles": ["admin"]}}
    }"#;

    fn intent(json: &str) -> Intent {
        Intent::from_json_str(json).unwrap()
    }

    fn input(i: &Intent) -> CelInput<'_> {
        CelInput::new(
            i.tool_name(),
            i.args(),
            i.targets(),
            i.arg_provenance(),
            i.context(),
        )
    }

    /// Compiles and evaluates `source` against [`INTENT`].
    fn eval(source: &str) -> Result<bool, String> {
        let i = intent(INTENT);
        let condition = Condition::compile(source).unwrap_or_else(|e| panic!("{source}: {e}"));
        condition.evaluate(&input(&i)).map_err(|e| e.to_string())
    }

    fn holds(source: &str) {
        assert_eq!(eval(source), Ok(true), "{source}");
    }

    fn fails(source: &str) {
        assert_eq!(eval(source), Ok(false), "{source}");
    }

    fn errs(source: &str) -> String {
        match eval(source) {
            Err(e) => e,
            Ok(b) => panic!("{source}: expected an error, got {b}"),
        }
    }

    fn rejected(source: &str) -> String {
        match Condition::compile(source) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("{source}: expected a compile error"),
        }
    }

    #[test]
    fn syntax_errors_are_rejected_with_a_position() {
        for source in [
            "intent.tool_name ==",
            "intent.(",
            "&& true",
            "'unterminated",
        ] {
            let e = rejected(source);
            assert!(e.starts_with("syntax error at 1:"), "{source}: {e}");
            assert!(!e.contains('\n'), "{source}: {e}");
        }
    }

    #[test]
    fn variables_other_than_intent_are_rejected() {
        let e = rejected("intnet.tool_name == 'x'");
        assert!(e.contains("\"intnet\"") && e.contains("`intent`"), "{e}");
        rejected("tool_name == 'x'");
        rejected("intent.args.sql == sql");
        // A macro's variable is bound inside the macro only.
        rejected("intent.targets.all(t, t.value != '') && t.value == ''");
        rejected("intent.targets.exists(t, u.value == '')");
        // Bound variables, nested macros and type names are fine.
        Condition::compile("intent.targets.all(t, [1, 2].exists(n, n > 0 && t.kind != ''))")
            .unwrap();
        Condition::compile("type(intent.args.limit) == int").unwrap();
        Condition::compile(".intent.tool_name == 'db.query'").unwrap();
    }

    #[test]
    fn undeclared_functions_and_bad_literal_patterns_are_rejected() {
        let e = rejected("intent.tool_name.startswith('db.')");
        assert!(e.contains("\"startswith\""), "{e}");
        rejected("lenght(intent.args) > 0");
        rejected("timestamp('2026-01-01T00:00:00Z') > timestamp('2025-01-01T00:00:00Z')");
        let e = rejected("intent.tool_name.matches('db.(')");
        assert!(e.starts_with("invalid matches() pattern"), "{e}");
        rejected("matches(intent.tool_name, '[')");
        // Namespaced functions of the environment are declared.
        Condition::compile("strings.quote(intent.tool_name) != ''").unwrap();
        Condition::compile("optional.none().orValue(1) == 1").unwrap();
    }

    /// Everything the module documentation lists as available compiles
    /// and evaluates.
    #[test]
    fn documented_functions_are_declared() {
        for source in [
            "int('1') == 1 && uint(1) == 1u && double(1) == 1.0 && string(1) == '1'",
            "bool('true') && bytes('a') == b'a' && type(1) == int && dyn(1) == 1",
            "'a' + 'b' == 'ab' && 2 * 3 - 1 == 5 && 7 / 2 == 3 && 7 % 2 == 1 && -(1) < 0",
            "[1, 2].map(x, x * 2) == [2, 4] && [1, 2].filter(x, x > 1) == [2]",
            "[1, 2].exists_one(x, x > 1) && [1, 2].all(x, x > 0) && [1].exists(x, x == 1)",
            "'abc'.endsWith('c') && 'abc'.contains('b') && 'abc'.matches('^a')",
            "' A '.trim().lowerAscii() == 'a' && 'a'.upperAscii() == 'A'",
            "'a,b'.split(',') == ['a', 'b'] && ['a', 'b'].join('-') == 'a-b'",
            "'abcb'.indexOf('b') == 1 && 'abcb'.lastIndexOf('b') == 3",
            "'abc'.substring(1) == 'bc' && 'abc'.charAt(0) == 'a' && 'ab'.reverse() == 'ba'",
            "'a-a'.replace('-', '+') == 'a+a' && '%s!'.format(['hi']) == 'hi!'",
            "strings.quote('a') == '\"a\"'",
            "{'k': 1}.?k.orValue(0) == 1 && !{'k': 1}[?'x'].hasValue()",
            "optional.of(1).hasValue() && optional.none().orValue(2) == 2",
            "size('ab') == 2 && 'ab'.size() == 2 && (true ? 1 : 2) == 1",
        ] {
            holds(source);
        }
    }

    #[test]
    fn results_are_true_false_or_errors() {
        holds("intent.tool_name == 'db.query'");
        fails("intent.tool_name == 'db.exec'");
        holds("true");
        fails("false");
        // A missing key, a type error, a non-bool result.
        assert!(errs("intent.args.missing == 1").contains("missing"));
        errs("intent.args.sql > 1");
        errs("intent.tool_name.startsWith(1)");
        let e = errs("intent.tool_name");
        assert!(e.contains("string") && e.contains("not a bool"), "{e}");
        errs("intent.args.limit + 1");
        errs("intent.args.none");
        errs("1 / (intent.args.limit - 5) == 0");
        // `&&` and `||` absorb an error the other side decides.
        fails("intent.args.missing == 1 && false");
        holds("intent.args.missing == 1 || true");
        // has() guards optional keys.
        fails("has(intent.args.missing) && intent.args.missing == 1");
        holds("has(intent.args.force) && !intent.args.force");
    }

    #[test]
    fn strings_sizes_and_lists() {
        holds(r#"intent.args.sql.startsWith("SELECT")"#);
        fails(r#"intent.args.sql.startsWith("DELETE")"#);
        holds("intent.args.sql.endsWith('users') && intent.args.sql.contains(' FROM ')");
        holds("intent.args.sql.matches('^SELECT .* FROM [a-z]+$')");
        holds("intent.args.sql.lowerAscii().startsWith('select')");
        holds("size(intent.args.sql) == 19 && intent.args.sql.size() == 19");
        holds("size(intent.targets) == 2 && size(intent.args.flags) == 2");
        holds("size(intent.args) == 9");
        holds("'dry' in intent.args.flags && !('slow' in intent.args.flags)");
        holds("intent.tool_name in ['db.query', 'db.read']");
        holds("'sql' in intent.args && !('missing' in intent.args)");
        holds("intent.args.flags[1] == 'fast'");
        holds("intent.args.flags.map(f, f.upperAscii()) == ['DRY', 'FAST']");
    }

    #[test]
    fn macros_over_targets_and_provenance() {
        holds(r#"intent.targets.all(t, t.value.startsWith("/tmp/"))"#);
        fails(r#"intent.targets.all(t, t.operation == "read")"#);
        holds(r#"intent.targets.exists(t, t.operation == "write")"#);
        holds("intent.targets.exists_one(t, t.endpoint_class == 'fs.write')");
        holds("intent.targets.filter(t, t.kind == 'path').size() == 2");
        holds("intent.targets.exists(t, t.sensitivity == 'internal')");
        holds("intent.targets.all(t, t.discovery_method == 'unknown' && !t.destructive)");
        holds("intent.targets.all(t, t.endpoint_domain == '' && !t.read_only_hint)");
        holds("intent.arg_provenance.all(p, p.source == 'user' && p.arg_path == '$.sql')");
        holds("intent.arg_provenance[0].integrity_digest == ''");
        // An error inside a macro is the condition's error.
        errs("intent.targets.all(t, t.missing == 1)");
    }

    #[test]
    fn nested_args_and_numbers() {
        holds("intent.args.nested.opts.mode == 'ro' && intent.args.nested.opts.depth == 2");
        holds("intent.args['nested']['opts']['mode'] == 'ro'");
        holds("size(intent.args.nested.empty) == 0");
        holds("intent.args.nested.opts.depth < intent.args.limit");
        holds("intent.args.limit == 5 && type(intent.args.limit) == int");
        holds("intent.args.ratio == 0.5 && type(intent.args.ratio) == double");
        // Numbers are what the digest sees: 7.0 is the integer 7, and a
        // double beyond 2^53 is its nearest double (integer literals beyond
        // 2^53 are refused when the intent is decoded).
        holds("intent.args.whole == 7 && type(intent.args.whole) == int");
        holds("intent.args.big == 9007199254740992");
        holds("intent.args.none == null");
        holds("intent.args[?'missing'].orValue('d') == 'd'");
        holds("intent.args[?'sql'].hasValue()");
    }

    #[test]
    fn the_context_is_exposed_with_wire_strings() {
        holds("intent.context.identity == 'alice' && intent.context.workspace == '/repo'");
        holds("intent.context.risk_class == 'high'");
        holds("intent.context.risk_class in ['high', 'critical']");
        holds("intent.context.environment == 'prod'");
        holds("intent.context.phase == 'apply'");
        holds("intent.context.session_id == 's-1' && intent.context.run_id == ''");
        holds(
            "intent.context.credential_source == '' && intent.context.credential_ttl_seconds == 0",
        );
        holds("'db:read' in intent.context.credential_scopes");
        holds("intent.context.context_refs == [] && intent.context.context_set_digest == ''");
        holds("intent.context.auth_context.tenant == 'acme'");
        holds("'admin' in intent.context.auth_context.roles");
        fails("has(intent.context.auth_context.missing)");

        // Unset fields are empty strings and `auth_context` an empty map.
        let bare = intent(
            r#"{"tool_name": "t", "context": {"identity": "i", "workspace": "w", "risk_class": "low",
                "phase": "plan", "credential_source": "env"}}"#,
        );
        let input = input(&bare);
        for (source, expected) in [
            ("intent.context.environment == ''", true),
            ("intent.context.phase == 'plan'", true),
            ("intent.context.credential_source == 'env'", true),
            ("size(intent.context.auth_context) == 0", true),
            ("has(intent.context.auth_context.tenant)", false),
            ("size(intent.args) == 0 && size(intent.targets) == 0", true),
            ("intent.arg_provenance == []", true),
        ] {
            let condition = Condition::compile(source).unwrap();
            assert_eq!(condition.evaluate(&input), Ok(expected), "{source}");
        }
    }

    #[test]
    fn direct_answers_equal_selections_on_the_whole_map() {
        // `intent['x']` indexes the whole `intent` map; `intent.x` is
        // answered by the resolver directly.
        for part in ["tool_name", "args", "targets", "arg_provenance", "context"] {
            holds(&format!("intent.{part} == intent['{part}']"));
        }
        for field in CONTEXT_FIELDS {
            holds(&format!(
                "intent.context.{field} == intent['context']['{field}'] \
                 && intent.context.{field} == intent.context['{field}'] \
                 && has(intent.context.{field})"
            ));
        }
        holds(&format!("size(intent.context) == {}", CONTEXT_FIELDS.len()));
        holds("size(intent) == 5 && 'args' in intent");
        holds("intent.context.auth_context == intent['context']['auth_context']");
        holds("intent.args.nested.opts == intent['args']['nested']['opts']");
        assert!(errs("intent.contextx == 1").contains("contextx"));
        assert!(errs("intent.context.environmentx == 1").contains("environmentx"));
    }

    #[test]
    fn conditions_are_shared_values() {
        let a = Condition::compile("intent.tool_name == 'x'").unwrap();
        let b = a.clone();
        assert_eq!(a, b);
        assert_eq!(a.source(), "intent.tool_name == 'x'");
        assert_eq!(format!("{a:?}"), r#"Condition("intent.tool_name == 'x'")"#);
        assert_ne!(a, Condition::compile("intent.tool_name == 'y'").unwrap());

        fn send_sync<T: Send + Sync>() {}
        send_sync::<Condition>();
        send_sync::<crate::policy::Policy>();
        send_sync::<CelInput<'static>>();

        let i = intent(INTENT);
        let debug = format!("{:?}", input(&i));
        assert!(debug.starts_with("CelInput"), "{debug}");

        // One condition, many threads.
        let condition = Condition::compile("intent.targets.all(t, t.kind == 'path')").unwrap();
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    let i = intent(INTENT);
                    for _ in 0..50 {
                        assert_eq!(condition.evaluate(&input(&i)), Ok(true));
                    }
                });
            }
        });
    }

    /// The deepest conditions that load evaluate within the stack the
    /// evaluator keeps free for them ([`limits::stack_need`]): on a thread
    /// with just that much stack (so no segment is grown), nothing
    /// overflows.
    #[test]
    fn the_deepest_conditions_fit_in_the_red_zone() {
        let chain = |n: usize| format!("intent.args.limit{} == 0", " + 1".repeat(n));
        let deepest_chain = (1..64)
            .rev()
            .find(|&n| Condition::compile(&chain(n)).is_ok())
            .map(chain)
            .unwrap();
        let lists = format!(
            "size({}intent.args.limit{}) == 1",
            "[".repeat(MAX_BRACKET_NESTING - 1),
            "]".repeat(MAX_BRACKET_NESTING - 1)
        );
        let macros = format!(
            "intent.targets.all(t, intent.targets.exists(u, intent.targets.map(v, {}t.value + u.value + v.value + 'x' + 'y' + 'z'{}).size() > 0))",
            "(".repeat(12),
            ")".repeat(12)
        );
        let sources = [deepest_chain, lists, macros];
        let i = intent(INTENT);
        for source in &sources {
            let condition = Condition::compile(source).unwrap_or_else(|e| panic!("{source}: {e}"));
            std::thread::scope(|s| {
                std::thread::Builder::new()
                    .stack_size(condition.inner.stack + (64 << 10))
                    .spawn_scoped(s, || {
                        let input = input(&i);
                        assert!(
                            stacker::remaining_stack()
                                .is_some_and(|left| left >= condition.inner.stack),
                            "no segment is grown"
                        );
                        let result = condition.evaluate(&input);
                        assert!(result.is_ok(), "{source}: {result:?}");
                    })
                    .unwrap()
                    .join()
                    .unwrap();
            });
        }
    }

    /// The metered `indexOf`, `lastIndexOf` and `replace` (linear, and
    /// checked before they build anything) give the strings extension's
    /// results and errors.
    #[test]
    fn metered_string_functions_agree_with_the_extension() {
        use proptest::prelude::*;
        let env = environment().unwrap();
        let raw = |source: &str| {
            let program = env.compile(source).unwrap();
            let context = cel::Context::with_env(Arc::clone(env));
            program.execute(&context)
        };
        let i = intent(INTENT);
        let text = "[ab\u{e9}\u{1f600}]{0,6}";
        let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
            cases: 200,
            ..ProptestConfig::default()
        });
        runner
            .run(&(text, text, -2i64..9, text), |(s, n, offset, r)| {
                for call in [
                    format!("'{s}'.indexOf('{n}')"),
                    format!("'{s}'.lastIndexOf('{n}')"),
                    format!("'{s}'.indexOf('{n}', {offset})"),
                    format!("'{s}'.lastIndexOf('{n}', {offset})"),
                    format!("'{s}'.replace('{n}', '{r}')"),
                    format!("'{s}'.replace('{n}', '{r}', {offset})"),
                ] {
                    // Our result equals the extension's value, or both fail
                    // alike.
                    let got = match raw(&call) {
                        Ok(CelValue::Int(n)) => format!("{call} == {n}"),
                        Ok(CelValue::String(t)) => format!("{call} == '{t}'"),
                        Ok(other) => panic!("{call}: {other:?}"),
                        Err(e) => {
                            let condition = Condition::compile(&format!("{call} == 0")).unwrap();
                            let got = condition.evaluate(&input(&i)).unwrap_err().to_string();
                            let range = "index out of range";
                            prop_assert_eq!(e.to_string().contains(range), got.contains(range));
                            continue;
                        }
                    };
                    let condition = Condition::compile(&got).unwrap();
                    prop_assert_eq!(condition.evaluate(&input(&i)), Ok(true), "{}", got);
                }
                Ok(())
            })
            .unwrap();
    }

    /// Building the input and evaluating one condition stays in the
    /// microseconds (measured in release builds; the bound here is loose
    /// enough for unoptimized builds on a loaded machine).
    #[test]
    fn building_the_input_and_evaluating_is_cheap() {
        let i = intent(INTENT);
        let condition = Condition::compile(
            r#"intent.args.sql.startsWith("SELECT") && intent.context.environment == "prod""#,
        )
        .unwrap();
        const RUNS: u32 = 2_000;
        let start = std::time::Instant::now();
        for _ in 0..RUNS {
            let input = input(std::hint::black_box(&i));
            assert_eq!(condition.evaluate(&input), Ok(true));
        }
        let per_run = start.elapsed() / RUNS;
        assert!(per_run < std::time::Duration::from_millis(1), "{per_run:?}");
    }
}
