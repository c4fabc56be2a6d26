//! Resource limits of CEL conditions: checked when a condition compiles,
//! and metered while it evaluates. See the module documentation of
//! [`crate::cel`] ("Limits") for the reasoning and the numbers.

use std::cell::RefCell;
use std::time::{Duration, Instant};

use cel::ExecutionError;

use super::CompileError;
use cel::common::ast::{CallExpr, ComprehensionExpr, EntryExpr, Expr, IdedExpr, LiteralValue};
use cel::common::types::{CelBytes, CelInt, CelList, CelMap, CelOptional, CelString, DYN_TYPE};
use cel::common::value::{CowVal, Val};
use cel::{DeclarationError, Env};

/// Longest condition source, in bytes (after trimming).
pub const MAX_SOURCE_BYTES: usize = 4096;
/// Deepest nesting of `(`, `[` and `{` in the source, checked before
/// parsing.
pub const MAX_BRACKET_NESTING: usize = 24;
/// Deepest expression tree (after macro expansion): a chain of `+` of
/// more terms than this is refused, `&&` and `||` chains are balanced by
/// the parser and count about `log2` of their length.
pub const MAX_DEPTH: usize = 32;
/// Most expression nodes (after macro expansion: one `all(...)` adds
/// about six nodes to those written).
pub const MAX_NODES: usize = 1000;
/// Deepest nesting of comprehension macros (`all`, `exists`,
/// `exists_one`, `map`, `filter`) inside one another's body.
pub const MAX_COMPREHENSION_NESTING: usize = 3;
/// Evaluation cost budget, in units (see [`crate::cel`], "Limits").
pub const MAX_COST: u64 = 2_000_000;
/// Largest value one evaluation step may build, in units.
pub const MAX_VALUE_UNITS: u64 = 1_048_576;
/// Wall-time limit of one evaluation.
pub const MAX_EVAL_TIME: Duration = Duration::from_millis(100);
/// Largest compiled program of a `matches()` pattern, in bytes (the
/// `regex` crate's own default is 10 MiB).
pub const MAX_REGEX_PROGRAM_BYTES: usize = 1 << 18;

/// Stack an evaluation needs per level of the (metered) expression tree:
/// the interpreter recurses once or twice per level, and unoptimized
/// builds use far larger frames than release builds.
const STACK_PER_LEVEL: usize = if cfg!(debug_assertions) {
    96 << 10
} else {
    16 << 10
};
/// Stack an evaluation needs besides the tree's levels.
const STACK_BASE: usize = if cfg!(debug_assertions) {
    512 << 10
} else {
    128 << 10
};

/// The stack kept free to evaluate a tree of `depth` levels: the
/// evaluation moves to a segment of twice that size when less is left.
pub(super) fn stack_need(depth: usize) -> usize {
    STACK_BASE.saturating_add(depth.saturating_mul(STACK_PER_LEVEL))
}

/// The depth of a tree, measured without recursion.
pub(super) fn depth(root: &IdedExpr) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(root, 1usize)];
    while let Some((e, d)) = stack.pop() {
        deepest = deepest.max(d);
        let next = d + 1;
        match &e.expr {
            Expr::Unspecified | Expr::Literal(_) | Expr::Ident(_) => {}
            Expr::Select(s) => stack.push((&s.operand, next)),
            Expr::Call(c) => {
                stack.extend(c.target.as_deref().map(|t| (t, next)));
                stack.extend(c.args.iter().map(|a| (a, next)));
            }
            Expr::Comprehension(c) => stack.extend(
                [
                    &c.iter_range,
                    &c.accu_init,
                    &c.loop_cond,
                    &c.loop_step,
                    &c.result,
                ]
                .map(|x| (x, next)),
            ),
            Expr::List(l) => stack.extend(l.elements.iter().map(|x| (x, next))),
            Expr::Map(m) => {
                for entry in &m.entries {
                    if let EntryExpr::MapEntry(me) = &entry.expr {
                        stack.extend([(&me.key, next), (&me.value, next)]);
                    }
                }
            }
            Expr::Struct(_) => {}
        }
    }
    deepest
}

/// Stack of the segment a condition is parsed and checked on (a source of
/// [`MAX_SOURCE_BYTES`] makes the generated parser recurse deeply before
/// the tree can be measured).
pub(super) const COMPILE_STACK: usize = 64 << 20;

/// Names of the metering functions the compiler wraps around expressions.
/// `@` cannot start an identifier in CEL source, so a condition cannot
/// call them itself.
pub(super) const SIZE_FN: &str = "@gait_size";
pub(super) const RANGE_FN: &str = "@gait_range";
pub(super) const REPLACE_FN: &str = "@gait_replace";
pub(super) const PATTERN_FN: &str = "@gait_pattern";
pub(super) const INDEX_OF_FN: &str = "@gait_index_of";
pub(super) const LAST_INDEX_OF_FN: &str = "@gait_last_index_of";

/// A condition that breaks a load-time limit: the message says which.
pub(super) fn prescan(source: &str) -> Result<(), CompileError> {
    if source.len() > MAX_SOURCE_BYTES {
        return Err(CompileError::TooLong {
            bytes: source.len(),
        });
    }
    // Brackets outside string literals; an escape inside a literal skips
    // the next character. Triple quotes toggle three times and so come
    // out right; a stray quote can only make the scan count fewer
    // brackets, and the parser's own limit and the tree's depth limit
    // still apply.
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in source.chars() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '\'' | '"' => quote = Some(c),
            '(' | '[' | '{' => {
                depth += 1;
                if depth > MAX_BRACKET_NESTING {
                    return Err(CompileError::BracketsTooDeep);
                }
            }
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Checks the parsed tree against [`MAX_DEPTH`], [`MAX_NODES`] and
/// [`MAX_COMPREHENSION_NESTING`] without recursion.
pub(super) fn check_shape(root: &IdedExpr) -> Result<(), CompileError> {
    let mut nodes = 0usize;
    // (node, depth, comprehension nesting)
    let mut stack: Vec<(&IdedExpr, usize, usize)> = vec![(root, 1, 0)];
    while let Some((e, depth, nesting)) = stack.pop() {
        nodes += 1;
        if nodes > MAX_NODES {
            return Err(CompileError::TooManyNodes);
        }
        if depth > MAX_DEPTH {
            return Err(CompileError::TooDeep);
        }
        let next = depth + 1;
        match &e.expr {
            Expr::Unspecified | Expr::Literal(_) | Expr::Ident(_) => {}
            Expr::Select(s) => stack.push((&s.operand, next, nesting)),
            Expr::Call(call) => {
                if let Some(t) = &call.target {
                    stack.push((t, next, nesting));
                }
                stack.extend(call.args.iter().map(|a| (a, next, nesting)));
            }
            Expr::Comprehension(c) => {
                let inner = nesting + 1;
                if inner > MAX_COMPREHENSION_NESTING {
                    return Err(CompileError::ComprehensionsTooDeep);
                }
                stack.push((&c.iter_range, next, nesting));
                stack.push((&c.accu_init, next, nesting));
                stack.push((&c.loop_cond, next, inner));
                stack.push((&c.loop_step, next, inner));
                stack.push((&c.result, next, inner));
            }
            Expr::List(l) => stack.extend(l.elements.iter().map(|x| (x, next, nesting))),
            Expr::Map(m) => push_entries(&mut stack, &m.entries, next, nesting),
            Expr::Struct(s) => push_entries(&mut stack, &s.entries, next, nesting),
        }
    }
    Ok(())
}

fn push_entries<'a>(
    stack: &mut Vec<(&'a IdedExpr, usize, usize)>,
    entries: &'a [cel::common::ast::IdedEntryExpr],
    depth: usize,
    nesting: usize,
) {
    for entry in entries {
        match &entry.expr {
            EntryExpr::MapEntry(me) => {
                stack.push((&me.key, depth, nesting));
                stack.push((&me.value, depth, nesting));
            }
            EntryExpr::StructField(f) => stack.push((&f.value, depth, nesting)),
        }
    }
}

// ---- rewriting: metering calls ------------------------------------------------

/// Calls whose result can be larger than their inputs taken one at a time.
const GROWING_CALLS: &[&str] = &[
    cel::common::ast::operators::ADD,
    "format",
    "join",
    "split",
    "quote",
    "strings.quote",
    "string",
    "bytes",
    "lowerAscii",
    "upperAscii",
];

fn wrap(func: &str, args: Vec<IdedExpr>) -> IdedExpr {
    IdedExpr {
        id: 0,
        expr: Expr::Call(CallExpr {
            func_name: func.to_owned(),
            target: None,
            args,
        }),
    }
}

fn sized(e: IdedExpr) -> IdedExpr {
    wrap(SIZE_FN, vec![e])
}

fn is_accumulator(e: &IdedExpr) -> bool {
    matches!(&e.expr, Expr::Ident(name) if name.starts_with('@'))
}

fn count_nodes(root: &IdedExpr) -> usize {
    let mut n = 0usize;
    let mut stack = vec![root];
    while let Some(e) = stack.pop() {
        n += 1;
        match &e.expr {
            Expr::Unspecified | Expr::Literal(_) | Expr::Ident(_) => {}
            Expr::Select(s) => stack.push(&s.operand),
            Expr::Call(c) => {
                stack.extend(c.target.as_deref());
                stack.extend(c.args.iter());
            }
            Expr::Comprehension(c) => {
                stack.extend([
                    &c.iter_range,
                    &c.accu_init,
                    &c.loop_cond,
                    &c.loop_step,
                    &c.result,
                ]);
            }
            Expr::List(l) => stack.extend(l.elements.iter()),
            Expr::Map(m) => {
                for entry in &m.entries {
                    if let EntryExpr::MapEntry(me) = &entry.expr {
                        stack.extend([&me.key, &me.value]);
                    }
                }
            }
            Expr::Struct(_) => {}
        }
    }
    n
}

/// Adds the metering calls to a checked tree (whose depth is bounded, so
/// recursion here is bounded too):
///
/// * every comprehension's range becomes `@gait_range(range, n)`, which
///   charges the range's size and `n` (the loop body's node count) per
///   element before the loop starts;
/// * every user expression in a loop step becomes `@gait_size(x)`, a
///   per-iteration tick;
/// * results that can grow (`+`, `format`, `join`, `split`, list and map
///   literals, comprehension results, ...) become `@gait_size(x)`;
/// * `s.replace(a, b)` becomes `@gait_replace(s, a, b)`, which refuses a
///   result larger than [`MAX_VALUE_UNITS`] before building it;
/// * `s.indexOf(n)` and `s.lastIndexOf(n)` become `@gait_index_of(s, n)`
///   and `@gait_last_index_of(s, n)`, which search in linear time (the
///   strings extension compares every window: quadratic);
/// * a `matches` pattern becomes `@gait_pattern(p)`, which refuses a
///   pattern compiling to more than [`MAX_REGEX_PROGRAM_BYTES`].
///
/// The shapes the interpreter recognises (qualified names, `has()`, the
/// `@result` accumulator steps of the macros) are kept.
pub(super) fn rewrite(e: IdedExpr) -> IdedExpr {
    let id = e.id;
    match e.expr {
        expr @ (Expr::Unspecified
        | Expr::Literal(_)
        | Expr::Ident(_)
        | Expr::Select(_)
        | Expr::Struct(_)) => IdedExpr { id, expr },
        Expr::Call(mut call) => {
            if call.func_name == "replace" && (2..=3).contains(&call.args.len()) {
                if let Some(target) = call.target.take() {
                    let mut args = vec![rewrite(*target)];
                    args.extend(call.args.into_iter().map(rewrite));
                    return sized(wrap(REPLACE_FN, args));
                }
            }
            let search = match call.func_name.as_str() {
                "indexOf" => Some(INDEX_OF_FN),
                "lastIndexOf" => Some(LAST_INDEX_OF_FN),
                _ => None,
            };
            if let Some(search) = search {
                if (1..=2).contains(&call.args.len()) {
                    if let Some(target) = call.target.take() {
                        let mut args = vec![rewrite(*target)];
                        args.extend(call.args.into_iter().map(rewrite));
                        return wrap(search, args);
                    }
                }
            }
            if call.func_name == "matches" {
                let index = if call.target.is_some() { 0 } else { 1 };
                call.args = call
                    .args
                    .into_iter()
                    .enumerate()
                    .map(|(i, a)| {
                        // A literal pattern was checked when the condition
                        // compiled.
                        let literal = matches!(a.expr, Expr::Literal(_));
                        let a = rewrite(a);
                        if i == index && !literal {
                            wrap(PATTERN_FN, vec![a])
                        } else {
                            a
                        }
                    })
                    .collect();
                call.target = call.target.map(|t| Box::new(rewrite(*t)));
                return IdedExpr {
                    id,
                    expr: Expr::Call(call),
                };
            }
            let grows = GROWING_CALLS.contains(&call.func_name.as_str());
            call.target = call.target.map(|t| Box::new(rewrite(*t)));
            call.args = call.args.into_iter().map(rewrite).collect();
            let node = IdedExpr {
                id,
                expr: Expr::Call(call),
            };
            if grows { sized(node) } else { node }
        }
        Expr::Comprehension(c) => {
            let c = *c;
            let body = count_nodes(&c.loop_cond) + count_nodes(&c.loop_step);
            let body = i64::try_from(body).unwrap_or(i64::MAX);
            let range = wrap(
                RANGE_FN,
                vec![
                    rewrite(c.iter_range),
                    IdedExpr {
                        id: 0,
                        expr: Expr::Literal(LiteralValue::Int(body.into())),
                    },
                ],
            );
            let comprehension = ComprehensionExpr {
                iter_range: range,
                iter_var: c.iter_var,
                iter_var2: c.iter_var2,
                accu_var: c.accu_var,
                accu_init: c.accu_init,
                loop_cond: c.loop_cond,
                loop_step: rewrite_step(c.loop_step),
                result: c.result,
            };
            sized(IdedExpr {
                id,
                expr: Expr::Comprehension(Box::new(comprehension)),
            })
        }
        Expr::List(mut l) => {
            l.elements = l.elements.into_iter().map(rewrite).collect();
            sized(IdedExpr {
                id,
                expr: Expr::List(l),
            })
        }
        Expr::Map(mut m) => {
            for entry in &mut m.entries {
                if let EntryExpr::MapEntry(me) = &mut entry.expr {
                    me.key = rewrite(std::mem::take(&mut me.key));
                    me.value = rewrite(std::mem::take(&mut me.value));
                }
            }
            sized(IdedExpr {
                id,
                expr: Expr::Map(m),
            })
        }
    }
}

/// A macro's loop step: calls over the `@result` accumulator keep their
/// shape (and a list they append stays a list literal); the user's
/// expressions inside are rewritten and ticked.
fn rewrite_step(e: IdedExpr) -> IdedExpr {
    let id = e.id;
    match e.expr {
        Expr::Call(mut call) if call.args.iter().any(is_accumulator) || is_step_shape(&call) => {
            call.args = call
                .args
                .into_iter()
                .map(|a| {
                    if is_accumulator(&a) {
                        a
                    } else if let Expr::Call(inner) = &a.expr {
                        if inner.args.iter().any(is_accumulator) {
                            return rewrite_step(a);
                        }
                        sized(rewrite(a))
                    } else if let Expr::List(mut l) = a.expr {
                        l.elements = l.elements.into_iter().map(|x| sized(rewrite(x))).collect();
                        IdedExpr {
                            id: a.id,
                            expr: Expr::List(l),
                        }
                    } else {
                        sized(rewrite(a))
                    }
                })
                .collect();
            IdedExpr {
                id,
                expr: Expr::Call(call),
            }
        }
        expr => sized(rewrite(IdedExpr { id, expr })),
    }
}

/// `cond ? <step over @result> : @result` (`filter`, `exists_one`).
fn is_step_shape(call: &CallExpr) -> bool {
    call.args.iter().any(|a| match &a.expr {
        Expr::Call(inner) => inner.args.iter().any(is_accumulator),
        _ => false,
    })
}

// ---- the meter ------------------------------------------------------------------

struct Meter {
    left: u64,
    deadline: Instant,
    exceeded: Option<String>,
}

thread_local! {
    static METER: RefCell<Option<Meter>> = const { RefCell::new(None) };
}

/// Runs `f` with a fresh budget on this thread; returns its result and the
/// limit it exceeded, if any (then the result must not be used: `&&`,
/// `||` and the macros may have absorbed the error).
pub(super) fn metered<T>(f: impl FnOnce() -> T) -> (T, Option<String>) {
    let previous = METER.with(|m| {
        m.borrow_mut().replace(Meter {
            left: MAX_COST,
            deadline: Instant::now() + MAX_EVAL_TIME,
            exceeded: None,
        })
    });
    let result = f();
    let exceeded = METER.with(|m| {
        let mut slot = m.borrow_mut();
        let exceeded = slot.as_mut().and_then(|meter| meter.exceeded.take());
        *slot = previous;
        exceeded
    });
    (result, exceeded)
}

fn limit_error(message: String) -> ExecutionError {
    ExecutionError::function_error("limit", message)
}

/// Charges `units`; an error once the budget or the time is spent (and
/// for every charge after that).
fn charge(units: u64) -> Result<(), ExecutionError> {
    METER.with(|m| {
        let mut slot = m.borrow_mut();
        let Some(meter) = slot.as_mut() else {
            return Err(limit_error("evaluation outside a budget".to_owned()));
        };
        if let Some(e) = &meter.exceeded {
            return Err(limit_error(e.clone()));
        }
        let reason = if units > meter.left {
            Some(format!(
                "evaluation cost budget of {MAX_COST} units exceeded"
            ))
        } else if Instant::now() > meter.deadline {
            Some(format!(
                "evaluation time limit of {} ms exceeded",
                MAX_EVAL_TIME.as_millis()
            ))
        } else {
            None
        };
        match reason {
            Some(reason) => {
                meter.left = 0;
                meter.exceeded = Some(reason.clone());
                Err(limit_error(reason))
            }
            None => {
                meter.left -= units;
                Ok(())
            }
        }
    })
}

/// Records a limit breach found before building a value.
fn refuse(reason: String) -> ExecutionError {
    METER.with(|m| {
        if let Some(meter) = m.borrow_mut().as_mut() {
            meter.left = 0;
            meter.exceeded.get_or_insert_with(|| reason.clone());
        }
    });
    limit_error(reason)
}

/// The size of a value in units: one per scalar, list element and map
/// entry, plus the bytes of strings and bytes, counted without recursion
/// and only up to `cap + 1`.
fn units(value: &(dyn Val + '_), cap: u64) -> u64 {
    let mut total = 0u64;
    let mut stack: Vec<&dyn Val> = vec![value];
    while let Some(v) = stack.pop() {
        total = total.saturating_add(1);
        if let Some(s) = v.downcast_ref::<CelString>() {
            total = total.saturating_add(s.inner().len() as u64);
        } else if let Some(b) = v.downcast_ref::<CelBytes>() {
            total = total.saturating_add(b.inner().len() as u64);
        } else if let Some(l) = v.downcast_ref::<CelList>() {
            stack.extend(l.inner().iter().map(|x| &**x));
        } else if let Some(m) = v.downcast_ref::<CelMap>() {
            for (k, x) in m.inner() {
                stack.push(k.inner());
                stack.push(&**x);
            }
        } else if let Some(o) = v.downcast_ref::<CelOptional>() {
            stack.extend(o.inner());
        }
        if total > cap {
            break;
        }
    }
    total
}

/// `@gait_size(x)`: charges the size of `x`, refuses one larger than
/// [`MAX_VALUE_UNITS`], and hands `x` back unchanged.
fn size_fn<'b, 'v>(mut args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let value = args
        .pop()
        .ok_or_else(|| limit_error("metering call without a value".to_owned()))?;
    let n = units(value.as_ref(), MAX_VALUE_UNITS);
    if n > MAX_VALUE_UNITS {
        return Err(refuse(format!(
            "a value larger than {MAX_VALUE_UNITS} units was built"
        )));
    }
    charge(n)?;
    Ok(value)
}

/// `@gait_range(range, body)`: charges the range's size and `body` units
/// per element, before the loop runs.
fn range_fn<'b, 'v>(mut args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let body = args
        .pop()
        .and_then(|b| b.downcast_ref::<CelInt>().map(|i| *i.inner()))
        .and_then(|b| u64::try_from(b).ok())
        .ok_or_else(|| limit_error("metering call without a body size".to_owned()))?;
    let range = args
        .pop()
        .ok_or_else(|| limit_error("metering call without a range".to_owned()))?;
    let elements = range
        .as_sizer()
        .map_or(0, |s| u64::try_from(*s.size().inner()).unwrap_or(0));
    let n = units(range.as_ref(), MAX_COST);
    charge(n.saturating_add(elements.saturating_mul(body.saturating_add(1))))?;
    Ok(range)
}

/// `@gait_replace(s, old, new[, n])`: `s.replace(old, new[, n])`, refused
/// before it runs when its result could exceed [`MAX_VALUE_UNITS`].
fn replace_fn<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let text = |i: usize| {
        args.get(i)
            .and_then(|a| a.downcast_ref::<CelString>())
            .map(|s| s.inner())
    };
    let count = match args.get(3) {
        None => Some(None),
        Some(n) => n
            .downcast_ref::<CelInt>()
            .map(|n| usize::try_from(*n.inner()).ok()),
    };
    let (Some(s), Some(old), Some(new), Some(count), 3..=4) =
        (text(0), text(1), text(2), count, args.len())
    else {
        return Err(ExecutionError::no_such_member_overload(
            "replace",
            args.iter()
                .map(|a| a.get_type().name().to_owned())
                .collect(),
        ));
    };
    let occurrences = if old.is_empty() {
        s.chars().count() + 1
    } else {
        s.matches(old).count()
    };
    let occurrences = count.map_or(occurrences, |n| n.min(occurrences)) as u64;
    let bound = (s.len() as u64).saturating_add(occurrences.saturating_mul(new.len() as u64));
    if bound > MAX_VALUE_UNITS {
        return Err(refuse(format!(
            "replace() would build a string larger than {MAX_VALUE_UNITS} bytes"
        )));
    }
    charge(bound)?;
    let replaced = match count {
        Some(n) => s.replacen(old, new, n),
        None => s.replace(old, new),
    };
    Ok(CowVal::owned(CelString::from(replaced)))
}

/// `@gait_index_of(s, needle[, offset])`: `s.indexOf(needle[, offset])`
/// of the strings extension (code-point indices), searching in linear
/// time (the extension compares every window).
fn index_of_fn<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    search(args, "indexOf", false)
}

/// `@gait_last_index_of(s, needle[, offset])`: `s.lastIndexOf(needle[,
/// offset])`, in linear time.
fn last_index_of_fn<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    search(args, "lastIndexOf", true)
}

fn search<'b, 'v>(
    args: Vec<CowVal<'b, 'v>>,
    function: &str,
    last: bool,
) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let text = |i: usize| {
        args.get(i)
            .and_then(|a| a.downcast_ref::<CelString>())
            .map(|s| s.inner())
    };
    let offset = match args.get(2) {
        None => Some(None),
        Some(o) => o.downcast_ref::<CelInt>().map(|o| Some(*o.inner())),
    };
    let (Some(s), Some(needle), Some(offset), 2..=3) = (text(0), text(1), offset, args.len())
    else {
        return Err(ExecutionError::no_such_member_overload(
            function,
            args.iter()
                .map(|a| a.get_type().name().to_owned())
                .collect(),
        ));
    };
    charge(s.len() as u64 + needle.len() as u64 + 1)?;
    let index = match (offset, last) {
        (None, false) => s.find(needle).map(|b| char_index(s, b)),
        (None, true) => s.rfind(needle).map(|b| char_index(s, b)),
        (Some(offset), _) => {
            let out_of_range = || {
                ExecutionError::function_error(function, format!("index out of range: {offset}"))
            };
            let Ok(start) = usize::try_from(offset) else {
                return Err(out_of_range());
            };
            let len = s.chars().count();
            if needle.is_empty() {
                return Ok(CowVal::owned(CelInt::from(
                    i64::try_from(start.min(len)).unwrap_or(i64::MAX),
                )));
            }
            if start >= len {
                return Err(out_of_range());
            }
            let byte = byte_index(s, start);
            if last {
                // The last occurrence starting at or before `start`: one
                // that ends by code point `start + size(needle)`.
                let chars = needle.chars().count();
                if chars > len {
                    None
                } else {
                    let end = byte_index(s, start.min(len - chars) + chars);
                    s.get(..end)
                        .and_then(|prefix| prefix.rfind(needle))
                        .map(|b| char_index(s, b))
                }
            } else {
                s.get(byte..)
                    .and_then(|rest| rest.find(needle))
                    .map(|b| start + char_index(&s[byte..], b))
            }
        }
    };
    let index = index.map_or(-1, |i| i64::try_from(i).unwrap_or(i64::MAX));
    Ok(CowVal::owned(CelInt::from(index)))
}

/// The code-point index of byte offset `byte` (a char boundary) of `s`.
fn char_index(s: &str, byte: usize) -> usize {
    s.get(..byte).map_or(0, |p| p.chars().count())
}

/// The byte offset of code point `index` of `s` (its length past the end).
fn byte_index(s: &str, index: usize) -> usize {
    s.char_indices().nth(index).map_or(s.len(), |(b, _)| b)
}

/// `@gait_pattern(p)`: refuses a `matches()` pattern whose program would
/// exceed [`MAX_REGEX_PROGRAM_BYTES`]; hands anything else back (an
/// invalid pattern is reported by `matches` itself).
fn pattern_fn<'b, 'v>(mut args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let value = args
        .pop()
        .ok_or_else(|| limit_error("metering call without a pattern".to_owned()))?;
    if let Some(p) = value.downcast_ref::<CelString>() {
        charge(p.inner().len() as u64 + 1)?;
        if let Err(regex::Error::CompiledTooBig(_)) = bounded_regex(p.inner()) {
            return Err(refuse(format!(
                "matches() pattern compiles to more than {MAX_REGEX_PROGRAM_BYTES} bytes"
            )));
        }
    }
    Ok(value)
}

/// Compiles `pattern` as `matches()` would, within
/// [`MAX_REGEX_PROGRAM_BYTES`].
pub(super) fn bounded_regex(pattern: &str) -> Result<regex::Regex, regex::Error> {
    regex::RegexBuilder::new(pattern)
        .size_limit(MAX_REGEX_PROGRAM_BYTES)
        .build()
}

/// Declares the metering functions on the shared environment.
pub(super) fn declare(env: &mut Env) -> Result<(), DeclarationError> {
    env.add_overload(SIZE_FN, SIZE_FN, vec![DYN_TYPE], size_fn)?;
    env.add_overload(RANGE_FN, RANGE_FN, vec![DYN_TYPE, DYN_TYPE], range_fn)?;
    env.add_overload(
        REPLACE_FN,
        "@gait_replace_3",
        vec![DYN_TYPE, DYN_TYPE, DYN_TYPE],
        replace_fn,
    )?;
    env.add_overload(
        REPLACE_FN,
        "@gait_replace_4",
        vec![DYN_TYPE, DYN_TYPE, DYN_TYPE, DYN_TYPE],
        replace_fn,
    )?;
    env.add_overload(PATTERN_FN, PATTERN_FN, vec![DYN_TYPE], pattern_fn)?;
    for (name, op) in [
        (INDEX_OF_FN, index_of_fn as cel::common::functions::Function),
        (LAST_INDEX_OF_FN, last_index_of_fn),
    ] {
        env.add_overload(name, &format!("{name}_2"), vec![DYN_TYPE, DYN_TYPE], op)?;
        env.add_overload(
            name,
            &format!("{name}_3"),
            vec![DYN_TYPE, DYN_TYPE, DYN_TYPE],
            op,
        )?;
    }
    Ok(())
}
