//! The parsers' work grows linearly with nesting (issue 23: a fuzzed 330-byte formula took
//! 1.8 s to be refused, and each further level doubled that). The work is counted, not
//! timed: pest counts the rule calls of a parse and stops it at a limit, so the least limit
//! a parse finishes under is the number of calls it makes. Each family nests one shape
//! deeper; doubling the depth may at most a little more than double the calls.
//!
//! The limit is one setting for the whole process, so these tests are a test binary of their
//! own and take turns.

mod common;

use std::num::NonZeroUsize;
use std::sync::Mutex;

/// The fuzzed formula (`/work`'s `slow-parse-values-input.bin`): nested parentheses after
/// names that read as products, and `d/dK` derivative forms; a `/` at column 324 ends it.
const FUZZED: &str = "((n(d/dKA(((n(d/dKA((n(d/ddKn(dKn(d/dKA((n(-ddKA((n(d(n(d/dKn(d/dKA(hn(ddK(n(d/dKA((n(d/ddKn(dKn(d/dKA((n(ddKn(d/dKA((n(d(n/dKA(((n(d/dKA((n(d/ddKn(dKn(d/dKAdKn(d/dKA(hn(ddK(n(d/dKA((n(d/ddK5555555555555555555555555555555555555555555555555555555555555555555555555555555555555n(dKn(d/dKA((n(ddKn(d/dKA((n(d(n(d/ddKn(dKn(d/d(/dKAdKA";

const PROGRAM: &str = "input x, n\nparam w\ncost C = w*x\n";

/// What every family nested around `x+/` is refused with.
const FOUND_SLASH: &str = "expected an expression, found `/`";

/// More calls than any input here needs once parsing is linear; an exponential parse is
/// stopped here rather than left to run.
const MOST_CALLS: usize = 1 << 26;

static TURNS: Mutex<()> = Mutex::new(());

/// What a parse came to: the message of its error, or `None`.
type Outcome = Option<String>;

fn outcome<T>(result: Result<T, chainrule::Diagnostic>) -> Outcome {
    result.err().map(|d| d.message)
}

fn stopped(outcome: &Outcome) -> bool {
    outcome
        .as_deref()
        .is_some_and(|m| m.contains("call limit reached"))
}

/// The rule calls `parse` makes (the least limit it finishes under) and what it came to.
fn calls(parse: &dyn Fn() -> Outcome) -> (usize, Outcome) {
    let under = |limit: usize| {
        pest::set_call_limit(NonZeroUsize::new(limit));
        let result = parse();
        pest::set_call_limit(None);
        result
    };
    let mut high = 256;
    let mut result = under(high);
    while stopped(&result) {
        assert!(high < MOST_CALLS, "more than {MOST_CALLS} rule calls");
        high *= 2;
        result = under(high);
    }
    let mut low = high / 2;
    while high - low > 1 {
        let middle = (low + high) / 2;
        if stopped(&under(middle)) {
            low = middle;
        } else {
            high = middle;
        }
    }
    (high, result)
}

/// `k` levels of `open` around `inside`, each closed by `close`.
fn nest(open: &'static str, inside: &'static str, close: &'static str) -> impl Fn(usize) -> String {
    move |k| format!("{}{inside}{}", open.repeat(k), close.repeat(k))
}

/// The formula families, each nested around `x+/` (an error at the `/`).
fn families() -> Vec<(&'static str, impl Fn(usize) -> String)> {
    [
        ("products n(…)", "n(", ")"),
        ("calls sin(…)", "sin(", ")"),
        ("parentheses", "(", ")"),
        ("derivatives (d/dx(…))", "(d/dx(", "))"),
        ("derivative references (dC/dw (…))", "(dC/dw (", "))"),
        ("the fuzzed shape ((n(d/dx(…)))", "((n(d/dx(", ")))"),
    ]
    .into_iter()
    .map(|(family, open, close)| (family, nest(open, "x+/", close)))
    .collect()
}

/// Asserts that nesting `make` twice as deep at most a little more than doubles the calls
/// `parse` makes on it (`f(2k) ≤ 2.5·f(k)` holds for `a + b·k` and fails for anything
/// faster), and that both parses come to the message `expected` (`None`: both parse).
fn assert_linear(
    what: &str,
    make: &dyn Fn(usize) -> String,
    parse: &dyn Fn(&str) -> Outcome,
    expected: Option<&str>,
) {
    let (short, long) = (make(12), make(24));
    let (calls_short, outcome_short) = calls(&|| parse(&short));
    let (calls_long, outcome_long) = calls(&|| parse(&long));
    for (text, outcome) in [(&short, outcome_short), (&long, outcome_long)] {
        match (expected, outcome) {
            (Some(expected), Some(message)) => {
                assert!(message.contains(expected), "{what}: {text}\n{message}")
            }
            (None, None) => {}
            (_, outcome) => panic!("{what}: {text}\n{outcome:?}, not {expected:?}"),
        }
    }
    assert!(
        calls_long * 2 <= calls_short * 5,
        "{what}: 12 levels take {calls_short} rule calls, 24 levels {calls_long}\n{long}"
    );
}

fn model() -> chainrule::Model {
    chainrule::load(PROGRAM).expect("the program loads")
}

#[test]
fn formulas_parse_in_work_linear_in_their_nesting() {
    let _turn = TURNS.lock().unwrap_or_else(|e| e.into_inner());
    let model = model();
    let formula = |text: &str| outcome(chainrule::formula(&mut model.clone(), text));
    for (family, make) in families() {
        assert_linear(family, &make, &formula, Some(FOUND_SLASH));
    }
    // A valid nest of derivatives, which doubled as well, and its direct partial.
    assert_linear("derivatives", &nest("(d/dx(", "x", "))"), &formula, None);
    assert_linear(
        "direct partials",
        &nest("(d/dx(", "x", "))_direct"),
        &formula,
        None,
    );
}

#[test]
fn programs_and_claims_parse_in_work_linear_in_their_nesting() {
    let _turn = TURNS.lock().unwrap_or_else(|e| e.into_inner());
    let model = model();
    for (family, make) in families() {
        let program =
            |text: &str| outcome(chainrule::load(&format!("{PROGRAM}q = {text}\n")).map(|_| ()));
        assert_linear(family, &make, &program, Some(FOUND_SLASH));
        let claim = |text: &str| {
            chainrule::check(&model, &[format!("dC/dw = {text}")], &[])
                .err()
                .map(|e| e.diagnostic.message)
        };
        assert_linear(family, &make, &claim, Some(FOUND_SLASH));
    }
}

/// LaTeX claims: a command with arguments that did not all parse was read again as a control
/// word followed by groups, each level reading the levels inside twice.
#[test]
fn latex_claims_parse_in_work_linear_in_their_nesting() {
    let _turn = TURNS.lock().unwrap_or_else(|e| e.into_inner());
    let model = model();
    let claim = |text: &str| {
        let claim = format!("\\frac{{\\partial C}}{{\\partial w}} = {text}");
        chainrule::check(&model, &[claim], &[])
            .err()
            .map(|e| e.diagnostic.message)
    };
    for (make, expected) in [
        (nest("\\frac{", "x", "}"), "`\\frac` needs two arguments"),
        (nest("\\sqrt[", "2", "]"), "`\\sqrt` needs an argument"),
        (
            nest("\\sqrt{", "x ^", "}"),
            "cannot read the LaTeX formula at `}`",
        ),
        (
            nest("\\hat{", "x ^", "}"),
            "cannot read the LaTeX formula at `}`",
        ),
        (
            nest("\\mathrm{", "x ^", "}"),
            "cannot read the LaTeX formula at `}`",
        ),
    ] {
        assert_linear(&make(1), &make, &claim, Some(expected));
    }
}

/// The fuzzed formula itself: refused at line 1, column 324, within a few rule calls a byte.
#[test]
fn issue23_the_fuzzed_formula_is_refused_at_its_slash_in_linear_work() {
    let _turn = TURNS.lock().unwrap_or_else(|e| e.into_inner());
    let model = model();
    let (used, result) = calls(&|| {
        chainrule::formula(&mut model.clone(), FUZZED)
            .err()
            .map(|d| format!("{} at byte {:?}", d.message, d.span.map(|s| s.start)))
    });
    let message = result.unwrap_or_default();
    assert_eq!(
        message,
        "expected an expression, found `/` at byte Some(323)"
    );
    assert!(used < 100 * FUZZED.len(), "{used} rule calls");
    let out = common::run(
        &["eval", "-", "--at", "x=1,n=2,w=1", "--expr", FUZZED],
        Some(PROGRAM),
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains(FOUND_SLASH), "{stderr}");
    assert!(stderr.contains("--> --expr:1:324"), "{stderr}");
    assert!(out.stdout.is_empty());
}
