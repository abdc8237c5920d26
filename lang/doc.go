// Package lang implements the .dst schedule language: lexer, grammar and AST, type
// checker, diagnostics and formatter. docs/language.md is the reference manual.
//
// # Overview
//
// A script is parsed with [Parse], checked with [Check] (or both with [CheckSource]) and
// formatted with [Format]:
//
//	f, diags := lang.Parse("prune.dst", src)        // partial AST even on errors
//	prog, more := lang.Check(f, lang.Env{
//		Params:   params,                         // the model's parameter table
//		Builtins: stdlib.Signatures(),            // the methods a script may name
//		Epochs:   30,                             // run length, 0 if unknown
//	})
//
// lang knows nothing of tensors or training: the checker is handed the builtin
// signatures ([Builtins], filled by package stdlib) and the model's parameter names and
// shapes ([ParamInfo]), so it imports only participle and the standard library.
//
// # Results
//
// Parse always returns a [File]; statements that failed to parse are *[BadStmt] values,
// each with exactly one diagnostic, and the rest of the file is intact. Check returns a
// [Program] only when there is no error. A Program is immutable and shares no memory with
// the AST: it lists the [Policy] values in declaration order, each with its method,
// resolved parameter names (model order), evaluated arguments (defaults filled in), a
// normalised [Window] with an ActiveAt predicate, and its source [Range] for runtime
// errors.
//
// # Diagnostics
//
// Every problem is a [Diagnostic] with a severity, a summary, a detail in full sentences,
// a subject range and related locations. [Diagnostics] implements error. A
// [DiagnosticWriter] prints them with file:line:col first, the source line and an
// underline.
//
// # Concurrency
//
// Parse, Check, CheckSource and Format are safe for concurrent use. A Builtins table may
// be shared by concurrent checks once it is no longer being added to. Nothing in this
// package panics on user input; the only panics are programmer errors documented on the
// function (MustBuiltins).
package lang
