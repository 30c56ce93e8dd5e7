//! The library's door serves every command: the same example run through the facade's public
//! names and through the binary gives the same document, byte for byte (the Python package's
//! tests hold its JSON against the binary's too, so all three agree).

use assert_cmd::Command;
use chainrule::{
    DeriveConfig, Document, DocumentFormat, EvalRequest, Layout, Style, TargetSpec, TrainConfig,
};

const POINT: &str = "x=1.5, y=0, w2=0.8, b2=0.1, w3=-0.5, b3=0.2";

fn cli(args: &[&str]) -> String {
    let out = Command::cargo_bin("chainrule")
        .unwrap()
        .args(args)
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn layout() -> Layout {
    Layout {
        source_name: chainrule::BUILTIN_NAME.to_string(),
        ..Layout::default()
    }
}

#[test]
fn derive_through_the_facade_is_what_the_binary_prints_in_every_format() {
    let mut model = chainrule::load(chainrule::BUILTIN_EXAMPLE).unwrap();
    let wrt = TargetSpec::List(vec!["w3".into(), "b2".into()]);
    for (format, name) in [
        (DocumentFormat::Text, "text"),
        (DocumentFormat::Markdown, "markdown"),
        (DocumentFormat::Latex, "latex"),
        (DocumentFormat::Json, "json"),
        (DocumentFormat::Html, "html"),
    ] {
        let config = DeriveConfig {
            steps: true,
            expand_if_small: format == DocumentFormat::Json,
            ..DeriveConfig::default()
        };
        let derivations = chainrule::derive(&mut model, &wrt, &config).unwrap();
        let document = Document::Derivations {
            model: &model,
            derivations: &derivations,
            style: Style::Chain,
        };
        let written = chainrule::render(&document, format, &layout()).unwrap();
        assert_eq!(
            written,
            cli(&["derive", "--wrt", "w3,b2", "--format", name]),
            "{name}"
        );
    }
}

#[test]
fn eval_check_step_and_train_through_the_facade_are_what_the_binary_prints() {
    let mut model = chainrule::load(chainrule::BUILTIN_EXAMPLE).unwrap();
    let at = chainrule::values(&model, POINT).unwrap();
    let request = EvalRequest {
        targets: chainrule::targets(&model, &TargetSpec::AllParams).unwrap(),
        ..Default::default()
    };
    let report = chainrule::evaluate(&mut model, &at, &request).unwrap();
    let json =
        |document: &Document| chainrule::render(document, DocumentFormat::Json, &layout()).unwrap();
    assert_eq!(
        json(&Document::Evaluation {
            model: &model,
            report: &report
        }),
        cli(&["eval", "--at", POINT, "--all", "--format", "json"])
    );

    let claims_model = chainrule::with_learning_rate(&model);
    let claim = "w3' = w3 + eta*dC/dw3";
    let given = chainrule::values(&claims_model, &format!("{POINT}, eta=0.5")).unwrap();
    let checked = chainrule::check(&claims_model, &[claim.to_string()], &given).unwrap();
    assert_eq!(checked[0].verdict, chainrule::Verdict::Incorrect);
    assert_eq!(
        json(&Document::Checks(&checked)),
        cli(&[
            "check",
            "--claim",
            claim,
            "--at",
            &format!("{POINT}, eta=0.5"),
            "--format",
            "json"
        ])
    );

    let descent = chainrule::descend(&mut model, &at, 0.5, 3).unwrap();
    assert_eq!(
        json(&Document::Descent {
            model: &model,
            descent: &descent
        }),
        cli(&[
            "step", "--at", POINT, "--lr", "0.5", "--steps", "3", "--format", "json"
        ])
    );

    let source = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/seed_training.bp"),
    )
    .unwrap();
    let mut trained = chainrule::load(&source).unwrap();
    let data = chainrule::training_data(&source, &trained)
        .unwrap()
        .expect("the example has a data block");
    let config = TrainConfig {
        epochs: 40,
        ..TrainConfig::default()
    };
    let training = chainrule::train(&mut trained, &data, &[], &config, |_| {}).unwrap();
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/seed_training.bp");
    let train_layout = Layout {
        source_name: file.to_string(),
        ..Layout::default()
    };
    assert_eq!(
        chainrule::render(
            &Document::Training {
                model: &trained,
                training: &training
            },
            DocumentFormat::Json,
            &train_layout
        )
        .unwrap(),
        cli(&[
            "train", file, "--epochs", "40", "--lr", "0.5", "--format", "json"
        ])
    );
}

#[test]
fn the_html_fragment_is_the_pages_body_with_the_same_mathml() {
    let mut model = chainrule::load(chainrule::BUILTIN_EXAMPLE).unwrap();
    let wrt = TargetSpec::List(vec!["w3".into()]);
    let config = DeriveConfig {
        steps: true,
        ..DeriveConfig::default()
    };
    let derivations = chainrule::derive(&mut model, &wrt, &config).unwrap();
    let document = Document::Derivations {
        model: &model,
        derivations: &derivations,
        style: Style::Chain,
    };
    let page = chainrule::render(&document, DocumentFormat::Html, &layout()).unwrap();
    let fragment = chainrule::render(&document, DocumentFormat::HtmlFragment, &layout()).unwrap();
    let body = fragment
        .strip_prefix("<div class=\"chainrule\">\n")
        .and_then(|f| f.strip_suffix("</div>\n"))
        .expect("one div around the body");
    assert!(body.contains("<math"), "{body}");
    assert!(
        page.contains(body),
        "the page holds the fragment's body as it is"
    );
    assert!(!fragment.contains("<style") && !fragment.contains("<script"));
}

#[test]
fn library_errors_name_what_is_wrong_and_the_binary_adds_its_option() {
    let mut model = chainrule::load(chainrule::BUILTIN_EXAMPLE).unwrap();
    let at = chainrule::values(&model, "x=1.5, y=0").unwrap();
    let request = EvalRequest {
        targets: chainrule::targets(&model, &TargetSpec::AllParams).unwrap(),
        ..Default::default()
    };
    let missing = chainrule::evaluate(&mut model, &at, &request).unwrap_err();
    assert_eq!(missing.input, Some(chainrule::Input::Point));
    assert!(
        missing.message.starts_with("no value given for"),
        "{missing:?}"
    );
    let help = missing.help.clone().unwrap();
    assert!(help.contains("w2=0.5"), "{help}");
    assert!(!help.contains("--"), "the library names no flag: {help}");
    let full = chainrule::values(&model, POINT).unwrap();
    let rate = chainrule::descend(&mut model, &full, 0.0, 1).unwrap_err();
    assert_eq!(rate.input, Some(chainrule::Input::LearningRate));
    assert!(
        rate.message
            .contains("learning rate must be a positive number")
    );
    assert!(!format!("{rate:?}").contains("--"), "{rate:?}");
    // The binary says how the point is given.
    let out = Command::cargo_bin("chainrule")
        .unwrap()
        .args(["eval", "--at", "x=1.5,y=0", "--all"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no value given for"), "{stderr}");
    assert!(stderr.contains("`--at NAME=VALUE,...`"), "{stderr}");
}

#[test]
fn values_given_as_numbers_evaluate_as_the_same_values_written_as_text() {
    use chainrule::Value;
    let source = include_str!("../examples/ng_planar.bp");
    let text = "X=[[1, 2, -1, 0.5], [0.5, -1, 2, 1]], Y=[1, 0, 1, 0], \
                W1=[[0.1, -0.2], [0.3, 0.4], [-0.5, 0.6], [0.7, -0.8]], \
                b1=[0.01, 0.02, 0.03, 0.04], W2=[[0.5, -0.5, 0.25, -0.25]], b2=[1e-7]";
    let numbers: Vec<(String, Value)> = vec![
        (
            "X".into(),
            Value::Matrix(vec![vec![1.0, 2.0, -1.0, 0.5], vec![0.5, -1.0, 2.0, 1.0]]),
        ),
        ("Y".into(), Value::Vector(vec![1.0, 0.0, 1.0, 0.0])),
        (
            "W1".into(),
            Value::Matrix(vec![
                vec![0.1, -0.2],
                vec![0.3, 0.4],
                vec![-0.5, 0.6],
                vec![0.7, -0.8],
            ]),
        ),
        // Entries named one by one, as `--at` names them.
        ("b1[1]".into(), Value::Number(0.01)),
        ("b1[2]".into(), Value::Number(0.02)),
        ("b1[3]".into(), Value::Number(0.03)),
        ("b1[4]".into(), Value::Number(0.04)),
        (
            "W2".into(),
            Value::Matrix(vec![vec![0.5, -0.5, 0.25, -0.25]]),
        ),
        ("b2".into(), Value::Vector(vec![1e-7])),
    ];
    let report_json = |given: &[chainrule::Given]| {
        let mut model = chainrule::load(source).unwrap();
        let request = EvalRequest {
            targets: chainrule::targets(&model, &TargetSpec::AllParams).unwrap(),
            ..Default::default()
        };
        let report = chainrule::evaluate(&mut model, given, &request).unwrap();
        let document = Document::Evaluation {
            model: &model,
            report: &report,
        };
        chainrule::render(&document, DocumentFormat::Json, &layout()).unwrap()
    };
    let model = chainrule::load(source).unwrap();
    let from_text = chainrule::values(&model, text).unwrap();
    let from_numbers = chainrule::values_of(&model, &numbers).unwrap();
    assert_eq!(from_numbers.len(), 2 * 4 + 4 + 4 * 2 + 4 + 4 + 1);
    let json = report_json(&from_numbers);
    assert!(json.contains("\"dJ/dW1\""), "{json}");
    assert_eq!(json, report_json(&from_text));
}

#[test]
fn a_value_given_as_a_number_that_does_not_fit_names_the_name() {
    use chainrule::Value;
    let refused = |source: &str, values: Vec<(&str, Value)>| {
        let model = chainrule::load(source).unwrap();
        let values: Vec<(String, Value)> = values
            .into_iter()
            .map(|(n, v)| (n.to_string(), v))
            .collect();
        let error = chainrule::values_of(&model, &values).unwrap_err();
        assert_eq!(error.diagnostic.input, Some(chainrule::Input::Point));
        let shown = error.diagnostic.render("at", &error.argument, false);
        (error.argument, shown)
    };
    let seed = chainrule::BUILTIN_EXAMPLE;
    let (name, shown) = refused(
        seed,
        vec![("x", Value::Number(1.0)), ("w9", Value::Number(1.0))],
    );
    assert_eq!(name, "w9");
    assert!(shown.contains("unknown name `w9`"), "{shown}");
    assert!(shown.contains("1 | w9\n  | ^^"), "{shown}");
    let (_, shown) = refused(seed, vec![("w3", Value::Vector(vec![1.0, 2.0]))]);
    assert!(
        shown.contains("`w3` is a scalar and takes one number"),
        "{shown}"
    );
    let (_, shown) = refused(seed, vec![("b2", Value::Number(f64::NAN))]);
    assert!(shown.contains("`b2` is given NaN"), "{shown}");

    let ng = include_str!("../examples/ng_planar.bp");
    let (name, shown) = refused(ng, vec![("W1", Value::Vector(vec![1.0, 2.0, 3.0]))]);
    assert_eq!(name, "W1");
    assert!(
        shown.contains("`W1` is 4×2, but this array has 3 numbers"),
        "{shown}"
    );
    let (_, shown) = refused(ng, vec![("X", Value::Number(1.0))]);
    assert!(shown.contains("`X` is 2×4 and takes an array"), "{shown}");
    let (_, shown) = refused(
        ng,
        vec![("W2", Value::Matrix(vec![vec![1.0, 2.0], vec![3.0]]))],
    );
    assert!(shown.contains("differ in length"), "{shown}");
    let (name, shown) = refused(
        ng,
        vec![
            ("b1", Value::Vector(vec![0.0; 4])),
            ("b1[2]", Value::Number(1.0)),
        ],
    );
    assert_eq!(name, "b1[2]");
    assert!(shown.contains("is given two values"), "{shown}");
    assert!(shown.contains("also given as `b1`"), "{shown}");
}
