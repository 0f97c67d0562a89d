//! Making the spec's plain top-level `fn`s callable from the host.
//!
//! The spec's scripts declare their contract functions as plain `fn`
//! (`fn create_payment(merged, _unused)`), not `pub fn`. Rune 0.14 builds a
//! non-`pub` item only when something in the script uses it: the indexer
//! queues `pub` items for building and leaves the others in the index, and
//! at the end of compilation an item nobody referenced is compiled (so its
//! syntax and names are still checked) but reported "not used" and left out
//! of the unit (`rune::compile::compile`, `Build::Function`, `is_used`). No
//! compile option changes this, and `Vm::execute` looks functions up in the
//! unit by hash, so a plain `fn` would be "missing" at call time.
//!
//! The engine therefore makes every top-level function *used*: it parses
//! the script with Rune's own parser (`rune::parse::parse_all::<ast::File>`,
//! the same parser the compiler runs, so no guessing from text), collects
//! the top-level `fn` items with their parameter counts, and appends one
//! hidden `pub fn` that calls each of them (never executed). Referencing a
//! function by path marks it used, so the compiler emits it into the unit
//! under its ordinary item path (`create_payment`), where `Vm::execute`
//! finds it by hash. Nothing in the author's text moves: the shim goes after
//! the last byte, so every line and column in diagnostics still points at
//! the script as written. Functions nested in `mod` blocks or `impl`s are
//! not plugin entry points and are left alone; so are `const fn`s.

use rune::SourceId;
use rune::ast;
use rune::ast::Spanned;

/// Name of the appended shim. A script that declares an item with this
/// name fails to compile with a duplicate-item error.
pub(crate) const SHIM_NAME: &str = "__rustbill_exports__";

/// A top-level function of a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptFunction {
    pub name: String,
    /// Number of declared parameters.
    pub arity: usize,
    pub is_async: bool,
}

/// The top-level functions of `source`, in declaration order; `Err` with
/// the parser's message when the script does not parse (the engine then
/// compiles the original text to report the error with full diagnostics).
pub(crate) fn top_level_functions(source: &str) -> Result<Vec<ScriptFunction>, String> {
    let file = rune::parse::parse_all::<ast::File>(source, SourceId::empty(), true).map_err(|e| e.to_string())?;
    let mut functions = Vec::new();
    for (item, _) in &file.items {
        let ast::Item::Fn(function) = item else {
            continue;
        };
        if function.const_token.is_some() {
            continue;
        }
        let Some(name) = source.get(function.name.span().range()) else {
            continue;
        };
        functions.push(ScriptFunction {
            name: name.to_string(),
            arity: function.args.len(),
            is_async: function.async_token.is_some(),
        });
    }
    Ok(functions)
}

/// `source` followed by the export shim for `functions`: a `pub fn` that
/// calls each of them (with `()` for every parameter) behind a condition
/// the host never makes true — it is never run, it only marks the
/// functions used. Calls rather than function values, so that the unit
/// holds no `LoadFn` of a script function ([`super::guard`] refuses those).
pub(crate) fn with_export_shim(source: &str, functions: &[ScriptFunction]) -> String {
    let mut out =
        String::with_capacity(source.len() + 128 + functions.iter().map(|f| f.name.len() + 16).sum::<usize>());
    out.push_str(source);
    out.push_str("\n\n// Appended by the RustBill engine: makes the top-level functions above callable.\npub fn ");
    out.push_str(SHIM_NAME);
    out.push_str("(run) {\n    if run {\n");
    for function in functions {
        out.push_str("        ");
        out.push_str(&function.name);
        out.push('(');
        out.push_str(&vec!["()"; function.arity].join(", "));
        out.push_str(");\n");
    }
    out.push_str("    }\n}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_top_level_functions_only() {
        let source = r#"
            fn a(x, y) { x }
            pub async fn b(x) { x }
            const fn c() { 1 }
            mod inner { pub fn d(a, b) { a } }
            struct S;
            impl S { fn e(self) {} }
        "#;
        let functions = top_level_functions(source).unwrap();
        assert_eq!(
            functions,
            vec![
                ScriptFunction { name: "a".into(), arity: 2, is_async: false },
                ScriptFunction { name: "b".into(), arity: 1, is_async: true },
            ]
        );
        let shimmed = with_export_shim(source, &functions);
        assert!(shimmed.starts_with(source));
        assert!(shimmed.contains("        a((), ());\n        b(());\n"));
    }

    #[test]
    fn reports_parse_errors() {
        assert!(top_level_functions("fn broken(").is_err());
    }
}
