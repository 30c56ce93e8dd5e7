//! Issue 21, "Why isn't my deep network learning?": the gradient layer by layer in eval, step
//! and train, the vanishing or exploding gradient named with the product that explains it
//! and its remedy, training that says it stalled and why, inputs that `--init` no longer
//! invents, and reports of large networks kept to a summary.

mod common;

use common::{run, stdout_of};
use serde_json::Value;

/// Ten layers of width 3 (nine of them sigmoid), the network.
const TEN_SIGMOID: &str = "network 3-3-3-3-3-3-3-3-3-3\nactivation sigmoid\ncost quadratic\n";
const TEN_TANH: &str = "network 3-3-3-3-3-3-3-3-3-3\nactivation tanh\ncost quadratic\n";
const AT: &str = "x1=0.5,x2=-0.3,x3=0.8,y1=1,y2=0,y3=0";

fn json_of(args: &[&str], stdin: &str) -> Value {
    serde_json::from_str(&stdout_of(args, stdin)).unwrap()
}

fn eval_json(source: &str, extra: &[&str]) -> Value {
    let mut args = vec!["eval", "-", "--format", "json"];
    args.extend_from_slice(extra);
    json_of(&args, source)
}

fn findings(doc: &Value) -> Vec<&Value> {
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .collect()
}

fn number(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

#[test]
fn ten_sigmoid_layers_vanish_and_the_quarter_bound_is_named_with_its_product() {
    let doc = eval_json(
        TEN_SIGMOID,
        &["--init", "xavier", "--seed", "2", "--at", AT, "--all"],
    );
    let layers = doc["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 9);
    let found = findings(&doc);
    assert_eq!(found.len(), 1, "{found:?}");
    let f = found[0];
    assert_eq!(f["kind"], "vanishing-gradient");
    assert_eq!(f["cause"], "sigmoid-slope");
    // δ passes σ′ of layers 2..9 on its way back from layer 10: eight factors of at most ¼.
    assert_eq!(f["facts"]["layers"], 8);
    assert_eq!(number(&f["facts"]["bound"]), 0.25f64.powi(8));
    let product: f64 = layers[..8]
        .iter()
        .map(|l| number(&l["mean_activation_derivative"]))
        .product();
    assert!((number(&f["facts"]["product"]) - product).abs() <= 1e-12 * product);
    assert!(number(&f["ratio"]) < 1e-3);
    let ratio = number(&layers[0]["grad_norm"]) / number(&layers[8]["grad_norm"]);
    assert!((number(&f["ratio"]) - ratio).abs() <= 1e-12 * ratio);
    let message = f["message"].as_str().unwrap();
    assert!(message.contains("σ'(z) ≤ 1/4"), "{message}");
    assert!(message.contains("4^-8 = 1.53e-5"), "{message}");
    let remedy = f["remedy"].as_str().unwrap();
    assert!(remedy.contains("relu or tanh"), "{remedy}");
    assert!(remedy.contains("--init xavier"), "{remedy}");
    // Nothing is saturated, so saturation is not blamed.
    assert!(
        layers
            .iter()
            .all(|l| l["saturated"] == serde_json::json!([]))
    );
    assert!(!message.contains("saturat"), "{message}");

    let text = stdout_of(
        &[
            "eval",
            "-",
            "--init",
            "xavier",
            "--seed",
            "2",
            "--at",
            AT,
            "--all",
            "--no-values",
        ],
        TEN_SIGMOID,
    );
    assert!(text.contains("Gradient by layer"), "{text}");
    assert!(
        text.contains("vanishing-gradient: the gradient norm of layer 2 is"),
        "{text}"
    );
    assert!(text.contains("remedy: use relu or tanh"), "{text}");
}

#[test]
fn the_same_network_with_tanh_and_xavier_has_no_finding() {
    let doc = eval_json(
        TEN_TANH,
        &["--init", "xavier", "--seed", "2", "--at", AT, "--all"],
    );
    assert_eq!(doc["layers"].as_array().unwrap().len(), 9);
    assert!(findings(&doc).is_empty(), "{}", doc["findings"]);
    let text = stdout_of(
        &[
            "eval",
            "-",
            "--init",
            "xavier",
            "--seed",
            "2",
            "--at",
            AT,
            "--per-layer",
        ],
        TEN_TANH,
    );
    assert!(
        text.contains("No vanishing or exploding gradient"),
        "{text}"
    );
    assert!(
        !text.contains("Derivatives"),
        "--per-layer shows the layer view alone: {text}"
    );
}

/// The layer view's norms are those of eval's own gradients: ‖∂C/∂W^l‖ and ‖∂C/∂b^l‖ over the
/// layer's derivatives in the `derivatives` object, δ = ∂C/∂b (a bias enters z with factor 1).
#[test]
fn the_norms_per_layer_are_the_norms_of_evals_own_gradients() {
    let doc = eval_json(
        TEN_SIGMOID,
        &["--init", "xavier", "--seed", "2", "--at", AT, "--all"],
    );
    let derivatives = doc["derivatives"].as_object().unwrap();
    let norm_of = |prefix: &str| {
        derivatives
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(_, v)| number(v).powi(2))
            .sum::<f64>()
            .sqrt()
    };
    let layers = doc["layers"].as_array().unwrap();
    let last = norm_of("dC/dw10_").hypot(norm_of("dC/db10_"));
    for layer in layers {
        let l = layer["layer"].as_u64().unwrap();
        let w = norm_of(&format!("dC/dw{l}_"));
        let b = norm_of(&format!("dC/db{l}_"));
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs().max(1e-300);
        assert!(close(number(&layer["grad_norm_W"]), w), "layer {l}");
        assert!(close(number(&layer["grad_norm_b"]), b), "layer {l}");
        assert!(close(number(&layer["delta_norm"]), b), "layer {l}");
        assert!(
            close(number(&layer["ratio_to_last"]), w.hypot(b) / last),
            "layer {l}"
        );
    }
}

#[test]
fn dead_relus_are_named() {
    let source = "network 2-4-4-1\nactivation relu\nactivation 4 sigmoid\ncost quadratic\n";
    let at = "x1=0.5,x2=0.25,y1=1,b2_1=-5,b2_2=-5,b2_3=-5,b2_4=-5";
    let doc = eval_json(source, &["--init", "xavier", "--seed", "1", "--at", at]);
    let layers = doc["layers"].as_array().unwrap();
    assert_eq!(
        layers[0]["dead"],
        serde_json::json!(["a2_1", "a2_2", "a2_3", "a2_4"])
    );
    assert_eq!(number(&layers[0]["mean_activation_derivative"]), 0.0);
    let dead = findings(&doc)
        .into_iter()
        .find(|f| f["cause"] == "dead-relu")
        .expect("a dead-relu cause");
    assert_eq!(dead["kind"], "vanishing-gradient");
    // Layer 3 then sees z = b = 0 (Xavier's biases are 0): relu′(0) = 0, dead too.
    assert_eq!(layers[1]["dead"].as_array().unwrap().len(), 4);
    assert_eq!(dead["facts"]["count"].as_u64(), Some(8));
    let message = dead["message"].as_str().unwrap();
    assert!(
        message.contains("a2_1, a2_2, a2_3, a2_4, a3_1, a3_2 and 2 more (8 in all)"),
        "{message}"
    );
    let remedy = dead["remedy"].as_str().unwrap();
    assert!(remedy.contains("leaky_relu"), "{remedy}");
    assert!(remedy.contains("(`--init he`)"), "{remedy}");
}

#[test]
fn a_saturated_sigmoid_output_is_named_and_cross_entropy_suggested() {
    let quadratic = "network 2-2-1\nactivation sigmoid\ncost quadratic\n";
    let at = "x1=1,x2=1,y1=0,w2_1_1=0.5,w2_1_2=0.5,w2_2_1=0.5,w2_2_2=0.5,b2_1=0,b2_2=0,\
              w3_1_1=20,w3_1_2=20,b3_1=10";
    let doc = eval_json(quadratic, &["--at", at]);
    let found = findings(&doc);
    let saturated = found
        .iter()
        .find(|f| f["kind"] == "saturated-output")
        .expect("a saturated-output finding");
    assert_eq!(saturated["cause"], "saturation");
    assert_eq!(saturated["facts"]["units"], serde_json::json!(["a3_1"]));
    let remedy = saturated["remedy"].as_str().unwrap();
    assert!(remedy.contains("cross-entropy"), "{remedy}");
    // The cross-entropy cost cancels σ′: the same point has no such finding.
    let cross_entropy = quadratic.replace("quadratic", "cross-entropy");
    let doc = eval_json(&cross_entropy, &["--at", at]);
    assert!(
        findings(&doc)
            .iter()
            .all(|f| f["kind"] != "saturated-output"),
        "{}",
        doc["findings"]
    );
    // A unit the network has right (y = 1) is saturated but not stuck.
    let right = at.replace("y1=0", "y1=1");
    let doc = eval_json(quadratic, &["--at", &right]);
    assert!(
        findings(&doc)
            .iter()
            .all(|f| f["kind"] != "saturated-output")
    );
}

const FOUR_ROWS: &str = "x1,x2,x3,y1,y2,y3\n0.5,-0.3,0.8,1,0,0\n0.1,0.9,-0.4,0,1,0\n\
                         -0.7,0.2,0.3,0,0,1\n0.6,0.6,-0.6,1,0,0\n";

fn ten_layer_training(format: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ten.bp"), TEN_SIGMOID).unwrap();
    std::fs::write(dir.path().join("four.csv"), FOUR_ROWS).unwrap();
    let bp = dir.path().join("ten.bp");
    let csv = dir.path().join("four.csv");
    let out = stdout_of(
        &[
            "train",
            bp.to_str().unwrap(),
            "--data",
            csv.to_str().unwrap(),
            "--epochs",
            "300",
            "--init",
            "xavier",
            "--seed",
            "2",
            "--format",
            format,
        ],
        "",
    );
    (dir, out)
}

#[test]
fn training_the_ten_layer_network_notes_the_stall_and_its_cause() {
    let (_dir, json) = ten_layer_training("json");
    let doc: Value = serde_json::from_str(&json).unwrap();
    let stall = findings(&doc)
        .into_iter()
        .find(|f| f["kind"] == "stall")
        .expect("a stall");
    assert_eq!(stall["cause"], "sigmoid-slope");
    assert!(stall["message"].as_str().unwrap().contains("stalled"));
    // Per-layer norms every epoch, one a layer.
    let epochs = doc["epochs"].as_array().unwrap();
    assert_eq!(epochs.len(), 300);
    assert!(
        epochs
            .iter()
            .all(|e| e["layer_norms"].as_array().unwrap().len() == 9)
    );
    // The first layer's norm is the smallest at the end: it vanished.
    let last: Vec<f64> = epochs[299]["layer_norms"]
        .as_array()
        .unwrap()
        .iter()
        .map(number)
        .collect();
    assert!(last[0] < 1e-3 * last[8], "{last:?}");

    let (_dir, text) = ten_layer_training("text");
    assert!(text.contains("stall: training stalled"), "{text}");
    assert!(text.contains("accuracy:"), "{text}");
}

#[test]
fn the_per_layer_plot_is_drawn_beside_the_loss_curve() {
    let (_dir, markdown) = ten_layer_training("markdown");
    assert_eq!(markdown.matches("<svg").count(), 2, "two pictures");
    let second = &markdown[markdown.rfind("<svg").unwrap()..];
    assert!(second.contains("gradient norm per layer"));
    assert!(second.contains("log scale"));
    for layer in 2..=10 {
        assert!(
            second.contains(&format!("layer {layer}")),
            "layer {layer}'s line"
        );
    }
}

#[test]
fn init_fills_parameters_only_and_unset_inputs_are_an_error() {
    let out = run(
        &["eval", "-", "--init", "xavier", "--at", "x1=0.5"],
        Some(TEN_SIGMOID),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no value given for `x2`, `x3`, `y1`, `y2`, `y3`\n"),
        "{err}"
    );
    assert!(err.contains("--example N"), "{err}");
    assert!(err.contains("--values FILE"), "{err}");
    assert!(err.contains("--init-inputs zero"), "{err}");

    // Asked for, zeros are used and the report says so.
    let text = stdout_of(
        &[
            "eval",
            "-",
            "--init",
            "xavier",
            "--at",
            "x1=0.5",
            "--init-inputs",
            "zero",
        ],
        TEN_SIGMOID,
    );
    assert!(
        text.contains("note: 5 inputs and targets were set to 0 on request"),
        "{text}"
    );
    let doc = eval_json(
        TEN_SIGMOID,
        &[
            "--init",
            "xavier",
            "--at",
            "x1=0.5",
            "--init-inputs",
            "zero",
        ],
    );
    assert_eq!(doc["inputs_zeroed"], 5);
    assert_eq!(doc["values"]["x2"], 0.0);
}

#[test]
fn an_example_row_gives_the_inputs_and_targets() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("four.csv");
    std::fs::write(&csv, FOUR_ROWS).unwrap();
    let doc = eval_json(
        TEN_SIGMOID,
        &[
            "--init",
            "xavier",
            "--example",
            "3",
            "--data",
            csv.to_str().unwrap(),
        ],
    );
    assert_eq!(doc["values"]["x1"], -0.7);
    assert_eq!(doc["values"]["y3"], 1.0);
    // `--at` overrides one value of the example.
    let doc = eval_json(
        TEN_SIGMOID,
        &[
            "--init",
            "xavier",
            "--example",
            "3",
            "--data",
            csv.to_str().unwrap(),
            "--at",
            "x1=2",
        ],
    );
    assert_eq!(doc["values"]["x1"], 2.0);
    let out = run(
        &[
            "eval",
            "-",
            "--init",
            "xavier",
            "--example",
            "9",
            "--data",
            csv.to_str().unwrap(),
        ],
        Some(TEN_SIGMOID),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the data has 4 examples"));
}

/// 784 inputs and 10 one-hot targets, `rows` examples of pixels in [0, 1).
fn mnist_rows(rows: usize) -> String {
    let mut csv: Vec<String> = (1..=784).map(|i| format!("x{i}")).collect();
    csv.extend((1..=10).map(|i| format!("y{i}")));
    let mut text = csv.join(",") + "\n";
    let mut rng = fastrand::Rng::with_seed(7);
    for row in 0..rows {
        let mut values: Vec<String> = (0..784).map(|_| format!("{:.3}", rng.f64())).collect();
        values.extend((0..10).map(|k| if k == row % 10 { "1" } else { "0" }.to_string()));
        text.push_str(&values.join(","));
        text.push('\n');
    }
    text
}

const MNIST: &str = "examples/mnist_784_30_10.bp";

#[test]
fn mnist_with_an_example_has_first_layer_gradients_and_a_short_report() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("mnist.csv");
    std::fs::write(&csv, mnist_rows(5)).unwrap();
    let csv = csv.to_str().unwrap();
    let doc = json_of(
        &[
            "eval",
            MNIST,
            "--init",
            "xavier",
            "--seed",
            "1",
            "--example",
            "1",
            "--data",
            csv,
            "--all",
            "--format",
            "json",
        ],
        "",
    );
    let first_layer = doc["derivatives"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.starts_with("dC/dw2_"))
        .collect::<Vec<_>>();
    assert_eq!(first_layer.len(), 784 * 30);
    assert!(first_layer.iter().filter(|(_, v)| number(v) != 0.0).count() > 784 * 30 / 2);
    assert!(number(&doc["layers"][0]["grad_norm_W"]) > 0.0);

    let report = stdout_of(
        &[
            "eval",
            MNIST,
            "--init",
            "xavier",
            "--seed",
            "1",
            "--example",
            "1",
            "--data",
            csv,
            "--all",
        ],
        "",
    );
    assert!(report.len() < 50_000, "{} bytes", report.len());
    assert!(report.contains("Gradient by layer"), "{report}");
    assert!(report.contains("23,860 derivatives left out"), "{report}");

    let saved = dir.path().join("trained.values");
    let training = stdout_of(
        &[
            "train",
            MNIST,
            "--data",
            csv,
            "--epochs",
            "2",
            "--init",
            "xavier",
            "--save-values",
            saved.to_str().unwrap(),
        ],
        "",
    );
    assert!(training.len() < 50_000, "{} bytes", training.len());
    assert!(
        training.contains("the 23,860 parameters are left out"),
        "{training}"
    );
    assert!(training.contains("accuracy:"), "{training}");
    assert!(training.contains("example 1  →"), "{training}");
    // The values file holds every trained parameter and reads back.
    let values = std::fs::read_to_string(&saved).unwrap();
    assert_eq!(values.lines().filter(|l| l.contains(" = ")).count(), 23_860);
}

/// Nielsen's unstable-gradient chain (Neural Networks and Deep Learning, chapter 5): one
/// sigmoid neuron a layer, every weight 100 and each bias chosen so that z = 0, where
/// σ′(0) = ¼. Each layer back multiplies δ by w·σ′(0) = 25, so the gradient explodes.
const NIELSEN_CHAIN: &str = "network 1-1-1-1-1\nactivation sigmoid\ncost quadratic\n";
/// x = 1: b2 = −100·x; every a after is σ(0) = ½, so b = −100·½ = −50 keeps z = 0.
const NIELSEN_AT: &str = "x1=1,y1=0,w2_1_1=100,w3_1_1=100,w4_1_1=100,w5_1_1=100,\
                          b2_1=-100,b3_1=-50,b4_1=-50,b5_1=-50";

#[test]
fn nielsens_chain_of_large_weights_explodes_and_names_the_weights() {
    let doc = eval_json(NIELSEN_CHAIN, &["--at", NIELSEN_AT]);
    let layers = doc["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 4);
    // By hand: the quadratic cost is (y − a)², so δ5 = 2(a5 − y)·σ′(0) = 2·½·¼, and
    // δ^l = 25·δ^(l+1); ∂C/∂w^l = δ^l·a^(l−1) with a^1 = x = 1 and a = ½ after, so
    // ‖∇^l‖ = |δ^l|·√(a² + 1).
    let delta5 = 2.0 * 0.5 * 0.25;
    for (i, layer) in layers.iter().enumerate() {
        let delta = delta5 * 25f64.powi(3 - i as i32);
        let input: f64 = if i == 0 { 1.0 } else { 0.5 };
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs();
        assert!(close(number(&layer["delta_norm"]), delta), "{layer}");
        assert!(
            close(number(&layer["grad_norm"]), delta * input.hypot(1.0)),
            "{layer}"
        );
        assert_eq!(number(&layer["mean_activation_derivative"]), 0.25);
        assert_eq!(number(&layer["weight_rms"]), 100.0);
    }
    let ratio = 25f64.powi(3) * 2f64.sqrt() / 1.25f64.sqrt();
    let found = findings(&doc);
    // The weights δ passes on its way back to layer 2 are those of layers 3, 4 and 5.
    assert_eq!(found.len(), 3, "{found:?}");
    for (f, layer) in found.iter().zip(3..) {
        assert_eq!(f["kind"], "exploding-gradient");
        assert_eq!(f["cause"], "large-weights");
        assert!((number(&f["ratio"]) - ratio).abs() <= 1e-9 * ratio, "{f}");
        assert_eq!(f["first_layer"], 2);
        assert_eq!(f["last_layer"], 5);
        assert_eq!(f["facts"]["layer"], layer);
        assert_eq!(number(&f["facts"]["weight_rms"]), 100.0);
        // Xavier's √(2/(fan_in + fan_out)) for one unit feeding one.
        assert_eq!(number(&f["facts"]["scale"]), 1.0);
        assert_eq!(f["facts"]["scale_of"], "xavier");
        let message = f["message"].as_str().unwrap();
        assert!(message.contains("1.98e4 times"), "{message}");
        assert!(message.contains("it explodes"), "{message}");
        assert!(
            f["remedy"].as_str().unwrap().contains("clip the gradient"),
            "{f}"
        );
    }

    let text = stdout_of(
        &["eval", "-", "--at", NIELSEN_AT, "--per-layer"],
        NIELSEN_CHAIN,
    );
    assert!(
        text.contains(
            "exploding-gradient: the gradient norm of layer 2 is 1.98e4 times that of layer 5 \
             (above 10^3: it explodes); the weights of layer 3 are large: their root mean square \
             is 100 against the Xavier scale 1"
        ),
        "{text}"
    );
    assert!(!text.contains("the weights of layer 2"), "{text}");
}

/// Trains `program` on `csv` and returns the JSON report and the text one.
fn train_both(program: &str, csv: &str, extra: &[&str]) -> (Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data.csv");
    std::fs::write(&data, csv).unwrap();
    let mut args = vec!["train", program, "--data", data.to_str().unwrap()];
    args.extend_from_slice(extra);
    let json = stdout_of(&[&args[..], &["--format", "json"]].concat(), "");
    (serde_json::from_str(&json).unwrap(), stdout_of(&args, ""))
}

/// In how many epochs the JSON's mean cost rose over the epoch before (the first against the
/// initial cost).
fn rises(doc: &Value) -> (usize, Vec<f64>) {
    let costs: Vec<f64> = std::iter::once(number(&doc["initial_cost"]))
        .chain(
            doc["epochs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| number(&e["cost"])),
        )
        .collect();
    (costs.windows(2).filter(|w| w[1] > w[0]).count(), costs)
}

const XOR: &str = "x1,x2,y1\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n";
const OR: &str = "x1,x2,y1\n0,0,0\n0,1,1\n1,0,1\n1,1,1\n";

#[test]
fn xor_with_too_large_a_learning_rate_oscillates() {
    let (doc, text) = train_both(
        "examples/network_2_3_1.bp",
        XOR,
        &[
            "--epochs", "60", "--lr", "15", "--init", "xavier", "--seed", "1",
        ],
    );
    let (rose, costs) = rises(&doc);
    // Up and down, yet lower at the end: not a divergence.
    assert!(rose > 60 / 4, "rose in {rose} of 60 epochs: {costs:?}");
    assert!(costs[60] < costs[0], "{costs:?}");
    assert!(doc["diverged"].is_null(), "{}", doc["diverged"]);
    let found = findings(&doc);
    let oscillation = found
        .iter()
        .find(|f| f["kind"] == "oscillation")
        .unwrap_or_else(|| panic!("an oscillation: {found:?}"));
    assert_eq!(oscillation["cause"], "learning-rate");
    assert_eq!(number(&oscillation["facts"]["learning_rate"]), 15.0);
    assert!(found.iter().all(|f| f["kind"] != "divergence"), "{found:?}");
    assert!(
        text.contains(
            "oscillation: the cost went up and down: it rose in many epochs although it ended \
             lower; the learning rate 15 overshoots"
        ),
        "{text}"
    );
    assert!(text.contains("remedy: lower the learning rate"), "{text}");

    // A tenth of the rate learns smoothly.
    let (doc, _) = train_both(
        "examples/network_2_3_1.bp",
        XOR,
        &[
            "--epochs", "60", "--lr", "1.5", "--init", "xavier", "--seed", "1",
        ],
    );
    assert!(
        findings(&doc).iter().all(|f| f["kind"] != "oscillation"),
        "{}",
        doc["findings"]
    );
}

#[test]
fn or_with_far_too_large_a_learning_rate_diverges() {
    let (doc, text) = train_both(
        "examples/cross_entropy_2_2_1.bp",
        OR,
        &[
            "--epochs", "60", "--lr", "15", "--init", "xavier", "--seed", "1",
        ],
    );
    let (_, costs) = rises(&doc);
    assert!(costs[60] > costs[0], "{costs:?}");
    assert_eq!(doc["diverged_kind"], "rate-too-large");
    let found = findings(&doc);
    let divergence = found
        .iter()
        .find(|f| f["kind"] == "divergence")
        .unwrap_or_else(|| panic!("a divergence: {found:?}"));
    assert_eq!(divergence["cause"], "learning-rate");
    assert_eq!(number(&divergence["facts"]["learning_rate"]), 15.0);
    assert!(
        found.iter().all(|f| f["kind"] != "oscillation"),
        "a divergence is not also an oscillation: {found:?}"
    );
    assert!(
        text.contains(
            "divergence: the cost diverged: the learning rate 15 is too large for the curvature \
             of the cost"
        ),
        "{text}"
    );
    assert!(text.contains("remedy: lower the learning rate"), "{text}");
}

/// `--init he` is PyTorch's `kaiming_uniform_` with the relu gain: weights uniform in
/// ±√(6/fan_in), variance 2/fan_in, biases 0.
#[test]
fn he_init_has_variance_two_over_fan_in_on_a_wide_layer() {
    let source = "network 300-100-1\nactivation relu\nactivation 3 sigmoid\ncost quadratic\n";
    let text = stdout_of(&["values", "-", "--init", "he", "--seed", "5"], source);
    assert!(text.contains("(--init he --seed 5)"), "{}", &text[..200]);
    let values = |prefix: &str| -> Vec<f64> {
        text.lines()
            .filter(|l| l.starts_with(prefix))
            .map(|l| l.split(" = ").nth(1).unwrap().parse().unwrap())
            .collect()
    };
    let first = values("w2_");
    assert_eq!(first.len(), 300 * 100);
    let n = first.len() as f64;
    let mean = first.iter().sum::<f64>() / n;
    let variance = first.iter().map(|w| (w - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let expected = 2.0 / 300.0;
    // The sample variance of n uniform draws has relative standard deviation √(0.8/n) ≈ 0.5%
    // here; 3% is six of them.
    assert!(
        (variance / expected - 1.0).abs() < 0.03,
        "variance {variance} against {expected}"
    );
    // The mean's standard deviation is √(2/300/n) ≈ 4.7e-4.
    assert!(mean.abs() < 3e-3, "mean {mean}");
    let bound = (6.0f64 / 300.0).sqrt();
    let largest = first.iter().fold(0.0f64, |m, w| m.max(w.abs()));
    assert!(
        largest <= bound && largest > 0.99 * bound,
        "{largest} against {bound}"
    );
    // The output layer's fan-in is 100.
    let second = values("w3_");
    assert_eq!(second.len(), 100);
    assert!(second.iter().all(|w| w.abs() <= (6.0f64 / 100.0).sqrt()));
    assert!(second.iter().any(|w| w.abs() > (6.0f64 / 300.0).sqrt()));
    assert!(values("b").iter().all(|&b| b == 0.0));
}

#[test]
fn per_layer_on_a_program_without_layers_is_refused_with_what_layers_are() {
    let no_layers = "input x\ntarget y\nparam w, b\noutput f = w*x + b\ncost C = (y - f)^2\n\
                     data x, y\n  1, 3\n  2, 5\nend\n";
    for command in [
        vec!["eval", "-", "--at", "x=1,y=3,w=0.5,b=0", "--per-layer"],
        vec![
            "step",
            "-",
            "--at",
            "x=1,y=3,w=0.5,b=0",
            "--lr",
            "0.1",
            "--per-layer",
        ],
        vec!["train", "-", "--epochs", "3", "--per-layer"],
    ] {
        let out = run(&command, Some(no_layers));
        assert_eq!(out.status.code(), Some(2), "{command:?}");
        assert!(out.stdout.is_empty(), "{command:?}: no partial output");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(
                "`--per-layer` shows the gradient layer by layer, and <stdin> has no layers"
            ),
            "{command:?}: {err}"
        );
        assert!(err.contains("`network` shorthand"), "{err}");
        assert!(err.contains("`w2_1_1`"), "{err}");
        // Without the flag, the same command runs.
        let whole: Vec<&str> = command
            .iter()
            .copied()
            .filter(|a| *a != "--per-layer")
            .collect();
        assert!(run(&whole, Some(no_layers)).status.success(), "{whole:?}");
    }
}
