//! What a script may not contain, because Rune 0.14 cannot bound it.
//!
//! Rune 0.14.2 has three gaps that let a script escape the per-call limits
//! and take the whole process down (upstream knows them: rune-rs/rune#1040
//! and #1044 "Ban recursion", which fixes them after 0.14):
//!
//! 1. **The compiler recurses on the Rust stack** once per nesting level of
//!    an expression (`-(-(-(…)))`, `0 + 1 + 1 + …`, blocks in blocks), so a
//!    deeply nested expression overflows the compiling thread's stack and
//!    aborts. [`check_source`] refuses absurd sources before the parser sees
//!    them (size, bracket depth, operator chains), and the engine compiles on
//!    a thread with a large stack.
//! 2. **Native code that calls back into the script runs a nested VM with no
//!    instruction budget and on the Rust stack.** `Vm::run` takes the whole
//!    thread-local budget into a local guard and leaves `usize::MAX` behind,
//!    so a closure passed to `iter().map(..)`, a generator resumed by a
//!    native `next`, a protocol method of a script `impl` called by native
//!    formatting, or an awaited script future nested in another all run
//!    unbudgeted — an endless loop there never stops, and recursion through
//!    them overflows the stack. [`check_unit`] therefore refuses the
//!    instructions that create such callbacks: closures (`Closure`),
//!    script functions taken as values (`LoadFn` of a script function),
//!    generators and streams (`Yield`), and `.await`/`select` on script
//!    futures (`Await`, `Select`); [`super::exports`] refuses `impl` blocks.
//!    The spec's scripts use none of them: host functions are synchronous,
//!    so there is nothing to await. `EngineLimits::allow_callbacks` turns
//!    this check off for trusted scripts.
//! 3. **Dropping, formatting, comparing or serialising a deeply nested value
//!    recurses on the Rust stack** (`let v = []; loop { v = [v]; }`). This
//!    cannot be refused at compile time; it is bounded instead: the memory
//!    cap bounds how deep a value can be, and every call runs on a thread
//!    whose stack (`EngineLimits::stack_bytes`) is large enough for the
//!    deepest value the cap allows.

use std::collections::HashSet;

use rune::runtime::Inst;
use rune::{Hash, Unit};

/// Scripts larger than this are refused.
pub const MAX_SOURCE_BYTES: usize = 1024 * 1024;
/// Deepest nesting of `(`, `[`, `{` (and `${` in templates).
pub const MAX_NESTING: usize = 128;
/// Most operator tokens between two `;` (and the ends of blocks), which
/// bounds how deep a single expression's tree can be.
pub const MAX_OPERATORS_PER_STATEMENT: usize = 1000;

/// Lexical limits checked before the script is parsed; `Err` names the
/// line. With `forbid_impl`, `impl` blocks are refused too (their methods
/// are what native code calls back for protocols such as formatting).
pub fn check_source(source: &str, forbid_impl: bool) -> Result<(), String> {
    if source.len() > MAX_SOURCE_BYTES {
        return Err(format!("script is {} bytes; the limit is {MAX_SOURCE_BYTES}", source.len()));
    }
    #[derive(Clone, Copy, PartialEq)]
    enum Mode {
        Code,
        /// Inside a backtick template; `${` switches to code.
        Template,
    }
    // Each open bracket remembers whether it closes a `${` (back to template).
    let mut brackets: Vec<bool> = Vec::new();
    let mut mode = Mode::Code;
    let mut operators = 0usize;
    let mut line = 1usize;
    let bytes = source.as_bytes();
    let mut i = 0;
    let too_deep = |line: usize| Err(format!("line {line}: nesting deeper than {MAX_NESTING} levels"));
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'\n' {
            line += 1;
        }
        match mode {
            Mode::Template => match c {
                b'\\' => i += 1,
                b'`' => mode = Mode::Code,
                b'$' if bytes.get(i + 1) == Some(&b'{') => {
                    brackets.push(true);
                    if brackets.len() > MAX_NESTING {
                        return too_deep(line);
                    }
                    mode = Mode::Code;
                    i += 1;
                }
                _ => {}
            },
            Mode::Code => match c {
                b'/' if bytes.get(i + 1) == Some(&b'/') => {
                    while i < bytes.len() && bytes[i] != b'\n' {
                        i += 1;
                    }
                    continue;
                }
                b'/' if bytes.get(i + 1) == Some(&b'*') => {
                    i += 2;
                    while i < bytes.len() && !(bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/')) {
                        if bytes[i] == b'\n' {
                            line += 1;
                        }
                        i += 1;
                    }
                    i += 2;
                    continue;
                }
                b'"' => {
                    i += 1;
                    while i < bytes.len() && bytes[i] != b'"' {
                        if bytes[i] == b'\\' {
                            i += 1;
                        } else if bytes[i] == b'\n' {
                            line += 1;
                        }
                        i += 1;
                    }
                }
                b'`' => mode = Mode::Template,
                // Char literals (`'{'`, `'\n'`); a label (`'outer:`) has no closing quote.
                b'\'' if bytes.get(i + 2) == Some(&b'\'') => i += 2,
                b'\'' if bytes.get(i + 1) == Some(&b'\\') => {
                    i += 2;
                    while i < bytes.len() && bytes[i] != b'\'' && bytes[i] != b'\n' {
                        i += 1;
                    }
                }
                b'(' | b'[' | b'{' => {
                    brackets.push(false);
                    if brackets.len() > MAX_NESTING {
                        return too_deep(line);
                    }
                    if c == b'{' {
                        operators = 0;
                    }
                }
                b')' | b']' | b'}' => {
                    if brackets.pop() == Some(true) {
                        mode = Mode::Template;
                    }
                    if c == b'}' {
                        operators = 0;
                    }
                }
                b';' => operators = 0,
                c if c.is_ascii_alphabetic() || c == b'_' => {
                    let start = i;
                    while i + 1 < bytes.len() && (bytes[i + 1].is_ascii_alphanumeric() || bytes[i + 1] == b'_') {
                        i += 1;
                    }
                    if forbid_impl && &source[start..=i] == "impl" {
                        return Err(format!(
                            "line {line}: `impl` blocks are not allowed in plugin scripts (Rune 0.14 runs methods \
                             called back from native code outside the instruction budget)"
                        ));
                    }
                }
                b'+' | b'-' | b'*' | b'/' | b'%' | b'!' | b'&' | b'|' | b'^' | b'<' | b'>' | b'=' | b'.' | b'?' => {
                    // A run of operator characters (`&&`, `..=`, `->`) is one token;
                    // a dot between digits is a decimal point.
                    let decimal = c == b'.'
                        && i > 0
                        && bytes[i - 1].is_ascii_digit()
                        && bytes.get(i + 1).is_some_and(u8::is_ascii_digit);
                    let continues = i > 0 && b"+-*/%!&|^<>=.?".contains(&bytes[i - 1]);
                    if !decimal && !continues {
                        operators += 1;
                        if operators > MAX_OPERATORS_PER_STATEMENT {
                            return Err(format!(
                                "line {line}: more than {MAX_OPERATORS_PER_STATEMENT} operators in one statement"
                            ));
                        }
                    }
                }
                _ => {}
            },
        }
        i += 1;
    }
    Ok(())
}

/// A construct [`check_unit`] refused, with its script line when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub line: Option<usize>,
    pub what: String,
}

/// Refuses the instructions that would let native code call back into the
/// script (see the module documentation). `script_functions` are the hashes
/// of the script's own functions: taking one of them as a value is refused,
/// taking a native function as a value (`String::len`) is fine.
/// `None` (no debug info to tell them apart): every `LoadFn` is refused.
pub fn check_unit(unit: &Unit, script_functions: Option<&HashSet<Hash>>, source: &str) -> Result<(), Vec<Refused>> {
    let instructions = match instructions(unit) {
        Ok(instructions) => instructions,
        // Cannot inspect: refuse rather than run unchecked.
        Err(reason) => {
            return Err(vec![Refused { line: None, what: format!("cannot inspect the compiled unit: {reason}") }]);
        }
    };
    let mut refused = Vec::new();
    for (ip, inst) in instructions.iter().enumerate() {
        let what = match inst {
            // A closure that captures nothing compiles to a plain function
            // loaded as a value, so both instructions name both constructs.
            Inst::Closure { .. } => "closures (`|x| …`) and script functions used as values",
            Inst::LoadFn { hash, .. } if script_functions.is_none_or(|set| set.contains(hash)) => {
                "closures (`|x| …`) and script functions used as values"
            }
            Inst::Yield { .. } | Inst::YieldUnit { .. } => "generators and streams (`yield`)",
            Inst::Await { .. } => "`.await` (host functions are synchronous: call them without `.await`)",
            Inst::Select { .. } => "`select`",
            _ => continue,
        };
        let line = unit
            .debug_info()
            .and_then(|debug| debug.instruction_at(ip))
            .and_then(|inst| source.get(..inst.span.start.into_usize()))
            .map(|prefix| prefix.matches('\n').count() + 1);
        if !refused.iter().any(|r: &Refused| r.line == line && r.what == what) {
            refused.push(Refused { line, what: what.to_string() });
        }
    }
    if refused.is_empty() { Ok(()) } else { Err(refused) }
}

/// The unit's instructions, read through its serde form (the accessors are
/// crate-private in Rune 0.14; the default storage serialises as
/// `{"storage": {"instructions": [..]}}`, indexed by instruction pointer).
fn instructions(unit: &Unit) -> Result<Vec<Inst>, String> {
    let mut value = serde_json::to_value(unit).map_err(|e| e.to_string())?;
    let instructions = value
        .get_mut("storage")
        .and_then(|s| s.get_mut("instructions"))
        .map(serde_json::Value::take)
        .ok_or("no `storage.instructions` in the unit".to_string())?;
    serde_json::from_value(instructions).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_scripts_pass() {
        let source = r#"
            // a comment with ((((( and +-+-
            fn f(a, b) {
                let s = "string with {{{{ and ----";
                let t = `template ${a} and ${ `inner ${b}` } {{{`;
                let x = 1.5 + 2 * (3 - 4) / 5;
                if x >= 1 && x <= 10 { x } else { -x }
            }
        "#;
        assert_eq!(check_source(source, true), Ok(()));
    }

    #[test]
    fn nesting_bombs_are_refused() {
        let deep = format!("fn f(a, b) {{ {}0{} }}", "-(".repeat(200), ")".repeat(200));
        assert!(check_source(&deep, true).unwrap_err().contains("nesting"));
        let long = format!("fn f(a, b) {{ 0{} }}", " + 1".repeat(2000));
        assert!(check_source(&long, true).unwrap_err().contains("operators"));
        let template = format!("fn f(a, b) {{ `{}0{}` }}", "${`".repeat(200), "`}".repeat(200));
        assert!(check_source(&template, true).unwrap_err().contains("nesting"));
        let with_impl = "struct S;\nimpl S { fn f(self) {} }";
        assert!(check_source(with_impl, true).unwrap_err().starts_with("line 2: `impl`"));
        assert_eq!(check_source(with_impl, false), Ok(()));
        assert_eq!(check_source("fn implement(a, b) { let impl_ = 1; }", true), Ok(()));
    }
}
