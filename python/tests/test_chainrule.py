"""The Python package against the command line: the same example through both must give the
same JSON document, and what only Python has (attributes, NumPy values, notebook displays,
exceptions) is checked on real output.

The command line is the binary cargo built (`target/release/chainrule`, else
`target/debug/chainrule`), or the one named by CHAINRULE_BIN.
"""

import json
import os
import pathlib
import subprocess

import numpy
import pytest

import chainrule

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SEED_POINT = {"x": 1.5, "y": 0, "w2": 0.8, "b2": 0.1, "w3": -0.5, "b3": 0.2}


def binary() -> str:
    named = os.environ.get("CHAINRULE_BIN")
    if named:
        return named
    for profile in ("release", "debug"):
        path = ROOT / "target" / profile / "chainrule"
        if path.exists():
            return str(path)
    pytest.fail("no chainrule binary: build it with `cargo build --release` first")


def cli_json(*args: str) -> dict:
    run = subprocess.run([binary(), *args, "--format", "json"], capture_output=True, text=True)
    assert run.returncode in (0, 1), run.stderr
    return json.loads(run.stdout)


def at_text(point: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in point.items())


def test_derive_matches_the_command_line_and_reads_as_attributes():
    net = chainrule.load()
    derived = net.derive(wrt="w3")
    assert derived.command == "derive"
    assert derived.derivatives[0].target == "dC/dw3"
    assert derived.derivatives[0].result == "-2(y - a3)*a3(1 - a3)*a2"
    assert derived.to_dict() == cli_json("derive", "--wrt", "w3")
    every = net.derive()
    assert [d.target for d in every.derivatives] == [f"dC/d{p}" for p in net.params]
    assert every.to_dict() == cli_json("derive", "--all")


def test_eval_warns_where_float64_rounds_the_sigmoid_to_one():
    net = chainrule.load(EXAMPLES / "seed_question.bp")
    point = {"a1": 62.5, "y": 0, "w2": numpy.float64(0.8)}
    report = net.eval(at=point)
    kinds = {w.kind for w in report.warnings}
    assert "saturation" in kinds, report.warnings
    # float64 says 0; the reference knows the gradient is about 2.4e-20 (the seed question).
    assert report.derivatives["dC/dw2"] == 0.0
    assert float(report.reference["dC/dw2"]) == pytest.approx(2.4e-20, rel=0.05)
    assert report.to_dict() == cli_json(
        "eval", str(EXAMPLES / "seed_question.bp"), "--at", "a1=62.5,y=0,w2=0.8", "--all"
    )


def test_check_names_the_sigma_slip_with_its_kind_code():
    net = chainrule.load()
    claim = "dC/dw3 = -2(y - a3)*(a3 - (1 - a3))*a2"
    checked = net.check(claim, at=SEED_POINT)
    assert checked.all_correct is False
    verdict = checked.claims[0]
    assert verdict.verdict == "incorrect"
    assert verdict.mistake is not None and verdict.mistake.kind
    assert checked.to_dict() == cli_json("check", "--claim", claim, "--at", at_text(SEED_POINT))
    right = net.check("dC/dw3 = -2(y - a3)*a3(1 - a3)*a2")
    assert right.all_correct is True and right.claims[0].verdict == "correct"


def test_step_costs_come_back_as_a_numpy_array_and_fall():
    net = chainrule.load()
    descent = net.step(at=SEED_POINT, lr=0.5, steps=3)
    costs = descent.costs
    assert isinstance(costs, numpy.ndarray) and costs.shape == (3,)
    assert costs[2] < costs[0]
    assert descent.to_dict() == cli_json(
        "step", "--at", at_text(SEED_POINT), "--lr", "0.5", "--steps", "3"
    )


def test_train_takes_numpy_columns_as_the_command_line_takes_a_csv(tmp_path):
    net = chainrule.load(EXAMPLES / "seed_training.bp")
    data = {"x": numpy.array([2.0, 4.0, 6.0, 8.0]), "y": numpy.ones(4)}
    run = net.train(data, epochs=50, lr=0.5, seed=3)
    assert run.command == "train"
    assert len(run.epochs) == 50 and run.costs[-1] < run.initial_cost
    csv = tmp_path / "even.csv"
    csv.write_text("x,y\n2,1\n4,1\n6,1\n8,1\n")
    assert run.to_dict() == cli_json(
        "train", str(EXAMPLES / "seed_training.bp"), "--data", str(csv),
        "--epochs", "50", "--lr", "0.5", "--seed", "3",
    )
    # Without data, the program's own data block.
    assert net.train(epochs=50, lr=0.5, seed=3).to_dict() == run.to_dict()


def test_train_holds_inputs_the_data_has_no_column_for_as_the_command_line_does():
    # A regularised network's λ and n are inputs; MNIST-like data has no column for them.
    net = chainrule.load(EXAMPLES / "nielsen_l2.bp")
    csv = EXAMPLES / "nielsen_l2.csv"
    held = {"lambda": 0.1, "n": 4}
    run = net.train(csv.read_text(), at=held, epochs=5, lr=0.5, init="xavier", seed=1)
    assert len(run.epochs) == 5 and run.costs[-1] < run.initial_cost
    assert run.to_dict() == cli_json(
        "train", str(EXAMPLES / "nielsen_l2.bp"), "--data", str(csv), "--at", "lambda=0.1,n=4",
        "--epochs", "5", "--lr", "0.5", "--init", "xavier", "--seed", "1",
    )
    with pytest.raises(chainrule.ChainruleError) as error:
        net.train(csv.read_text(), epochs=5)
    assert "the data has no column for `lambda`, `n`" in str(error.value)


def test_bad_input_raises_with_the_caret_diagnostic():
    with pytest.raises(chainrule.ChainruleError) as error:
        chainrule.load("input x\ncost C = x +* 2", name="broken.bp")
    message = str(error.value)
    assert "broken.bp:2:13" in message
    assert "^" in message
    net = chainrule.load()
    with pytest.raises(chainrule.ChainruleError) as error:
        net.eval(at={"w9": 1.0})
    assert "w9" in str(error.value)
    with pytest.raises(chainrule.ChainruleError):
        net.derive(wrt="nope")


def test_an_error_about_an_argument_names_the_argument_not_a_flag():
    net = chainrule.load()
    point = {"x": 1.5, "y": 0, "w2": 0.8, "b2": 0.1, "w3": -0.5, "b3": 0.2}
    with pytest.raises(chainrule.ChainruleError) as error:
        net.step(at=point, lr=0)
    message = str(error.value)
    assert "the learning rate must be a positive number" in message
    assert "the `lr` argument" in message
    assert "--lr" not in message
    with pytest.raises(chainrule.ChainruleError) as error:
        net.eval(at={"x": 1.5})
    assert "the `at` argument" in str(error.value)
    assert "--at" not in str(error.value)


def test_notebook_displays_are_the_documents_of_the_command_line():
    net = chainrule.load()
    derived = net.derive(wrt="w3")
    html = derived._repr_html_()
    assert html.startswith('<div class="chainrule">')
    assert "<math" in html and "<merror" not in html
    assert "http://" not in html and "https://" not in html and "<script" not in html
    assert derived._repr_markdown_() == derived.render("markdown")
    assert "\\frac{\\partial C}{\\partial w_{3}}" in derived._repr_latex_()
    assert str(derived) == derived.render("text")
    page = derived.render("html")
    assert page.startswith("<!DOCTYPE html>")
    run = subprocess.run([binary(), "derive", "--wrt", "w3", "--format", "html"],
                         capture_output=True, text=True)
    assert page == run.stdout


def test_train_displays_its_loss_curve_inline():
    net = chainrule.load(EXAMPLES / "seed_training.bp")
    html = net.train(epochs=20)._repr_html_()
    assert "<svg" in html and "<math" in html


def test_graph_is_svg_with_the_values_in_its_nodes():
    net = chainrule.load()
    picture = chainrule.graph(net, at=SEED_POINT, highlight="w2")
    svg = picture._repr_svg_()
    assert svg.startswith("<svg") and "w2" in svg
    with pytest.raises(chainrule.ChainruleError):
        chainrule.graph(net, highlight="w9")


def test_shorthand_layers_and_expansion():
    net = chainrule.load("network 2-3-1\nactivation sigmoid\ncost quadratic")
    assert "w2_1_1" in net.params
    assert net.expand().startswith("#")
    layered = net.layers()
    assert layered is not None and layered.command == "layers"
    assert chainrule.load().layers() is None


def test_numpy_arrays_and_entries_are_values_as_the_command_line_reads_them():
    net = chainrule.load(EXAMPLES / "ng_planar.bp")
    point = {
        "X": numpy.array([[1, 2, -1, 0.5], [0.5, -1, 2, 1]]),
        "Y": [1, 0, 1, 0],
        "W1": numpy.array([[0.1, -0.2], [0.3, 0.4], [-0.5, 0.6], [0.7, -0.8]]),
        "b1[1]": 0.01, "b1[2]": numpy.float32(0.5), "b1[3]": 0.03, "b1[4]": 4,
        "W2": ((0.5, -0.5, 0.25, -0.25),),
        "b2": numpy.array([1e-7]),
    }
    report = net.eval(at=point)
    assert numpy.asarray(report["values"]["W1"]).shape == (4, 2)
    text = ("X=[[1, 2, -1, 0.5], [0.5, -1, 2, 1]], Y=[1, 0, 1, 0], "
            "W1=[[0.1, -0.2], [0.3, 0.4], [-0.5, 0.6], [0.7, -0.8]], "
            "b1=[0.01, 0.5, 0.03, 4], W2=[[0.5, -0.5, 0.25, -0.25]], b2=[1e-7]")
    assert report.to_dict() == net.eval(at=text).to_dict()
    assert report.to_dict() == cli_json("eval", str(EXAMPLES / "ng_planar.bp"), "--at", text, "--all")


def test_a_value_that_does_not_fit_names_its_name():
    net = chainrule.load(EXAMPLES / "ng_planar.bp")
    with pytest.raises(chainrule.ChainruleError) as error:
        net.eval(at={"W1": numpy.zeros(3)})
    message = str(error.value)
    assert "`W1` is 4×2, but this array has 3 numbers" in message
    assert "W1\n" in message and "^^" in message
    assert "the `at` argument" in message
    with pytest.raises(chainrule.ChainruleError) as error:
        net.eval(at={"W1": numpy.zeros((4, 2)), "W1[1, 2]": 1.0})
    assert "is given two values" in str(error.value)
    seed = chainrule.load()
    with pytest.raises(chainrule.ChainruleError) as error:
        seed.eval(at={"x": float("nan")})
    assert "`x` is given NaN" in str(error.value)
    with pytest.raises(TypeError) as error:
        seed.eval(at={"x": True})
    assert "`x` must be a number, not a bool" in str(error.value)


# One weight, one input: ∂C/∂w = 2(wx − y)x, so each optimizer's steps can be worked by hand.
LINE = "input x\ntarget y\nparam w\nout = w*x\ncost C = (out - y)^2\n"


def test_momentum_steps_are_the_ones_worked_by_hand(tmp_path):
    program = tmp_path / "line.bp"
    program.write_text(LINE)
    net = chainrule.load(program)
    x, y, w, lr, mu = 2.0, 3.0, 0.5, 0.1, 0.5
    descent = net.step(at={"x": x, "y": y, "w": w}, lr=lr, steps=2, optimizer="momentum",
                       momentum=mu)
    assert descent.optimizer.to_dict() == {"name": "momentum", "momentum": mu,
                                           "weight_decay": 0}
    velocity = 0.0
    for number, step in enumerate(descent.steps):
        gradient = 2 * (w * x - y) * x
        # PyTorch's buffer: the gradient itself on the first step, b ← μb + g after.
        velocity = gradient if number == 0 else mu * velocity + gradient
        w -= lr * velocity
        assert step.gradients["w"] == pytest.approx(gradient, rel=1e-12)
        assert step.state["w"].velocity == pytest.approx(velocity, rel=1e-12)
        assert step.params["w"] == pytest.approx(w, rel=1e-12)
    # 0.5 → 1.3 → 1.86, where plain descent's second step reaches 1.46.
    assert w == pytest.approx(1.86)
    assert descent.to_dict() == cli_json("step", str(program), "--at", f"x={x},y={y},w=0.5",
                                         "--lr", str(lr), "--steps", "2", "--optimizer",
                                         "momentum", "--momentum", str(mu))


def test_adams_first_step_moves_every_parameter_by_the_learning_rate():
    net = chainrule.load()
    descent = net.step(at=SEED_POINT, lr=0.01, optimizer="adam")
    step = descent.steps[0]
    for name in net.params:
        gradient, moved = step.gradients[name], step.params[name] - SEED_POINT[name]
        # m̂ = g and v̂ = g² after one step, so θ moves by η·g/(|g| + ε): η against g's sign.
        assert moved == pytest.approx(-0.01 * gradient / (abs(gradient) + 1e-8), rel=1e-9)
        assert step.state[name].first_moment_corrected == pytest.approx(gradient, rel=1e-12)


def test_train_moves_by_the_optimizer_asked_for():
    net = chainrule.load(EXAMPLES / "seed_training.bp")
    adam = net.train(epochs=30, lr=0.05, seed=3, optimizer="adam", beta1=0.8)
    assert adam.optimizer.name == "adam" and adam.optimizer.beta1 == 0.8
    assert adam.to_dict() == cli_json("train", str(EXAMPLES / "seed_training.bp"), "--epochs",
                                      "30", "--lr", "0.05", "--seed", "3", "--optimizer",
                                      "adam", "--beta1", "0.8")
    plain = net.train(epochs=30, lr=0.05, seed=3)
    assert plain.optimizer.name == "sgd"
    assert list(adam.costs) != list(plain.costs)


def test_a_bad_optimizer_or_hyperparameter_is_refused_by_name():
    net = chainrule.load()
    with pytest.raises(ValueError) as error:
        net.step(at=SEED_POINT, optimizer="adagrad")
    assert "unknown optimizer `adagrad`: sgd, momentum, nesterov, rmsprop, adam" in str(error.value)
    with pytest.raises(ValueError) as error:
        net.train(optimizer="momentum", momentum=1.0)
    assert "`momentum` is a decay rate, at least 0 and below 1, not 1" in str(error.value)
    with pytest.raises(ValueError) as error:
        net.step(at=SEED_POINT, optimizer="adam", eps=-1e-8)
    assert "`eps` must be 0 or more" in str(error.value)
    with pytest.raises(ValueError) as error:
        net.check("w2 <- w2 - eta*b_w2", optimizer="sgdm")
    assert "unknown optimizer `sgdm`" in str(error.value)


def test_check_judges_update_rules_against_the_optimizer_asked_for():
    net = chainrule.load()
    rule = "w2 <- w2 - eta*b_w2"
    # Read from its names alone, PyTorch's buffer is momentum's rule, and right as such.
    assert net.check(rule).all_correct
    assert net.check(rule, optimizer="momentum").all_correct
    nesterov = net.check(rule, optimizer="nesterov")
    assert not nesterov.all_correct
    assert nesterov.claims[0].mistake.kind == "momentum-for-nesterov"
    assert nesterov.to_dict() == cli_json("check", "--claim", rule, "--optimizer", "nesterov")
    assert net.check(["b_w2 = mu*b_w2 + dC/dw2", "w2 <- w2 - eta*(dC/dw2 + mu*b_w2)"],
                     optimizer="nesterov").all_correct
