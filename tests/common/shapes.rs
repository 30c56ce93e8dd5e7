//! The programs whose size issue 9 measured: the output must grow with them, never with the
//! number of paths through them. Shared by `tests/factored.rs` (sizes asserted) and
//! `benches/factored.rs` (times measured), so both measure the same programs.

/// `network 2-2-…-2` with `layers` layers.
pub fn deep_narrow(layers: usize) -> String {
    let widths = vec!["2"; layers].join("-");
    format!("network {widths}\nactivation sigmoid\ncost quadratic\n")
}

/// `a_i = sigmoid(h_{i-1}); b_i = tanh(h_{i-1}); h_i = a_i + b_i`, `levels` times: 2^levels
/// paths through named intermediates.
pub fn named_diamond(levels: usize) -> String {
    let mut src = String::from("input x\nparam w\nh0 = w*x\n");
    for i in 1..=levels {
        src.push_str(&format!(
            "a{i} = sigmoid(h{p})\nb{i} = tanh(h{p})\nh{i} = a{i} + b{i}\n",
            p = i - 1
        ));
    }
    src.push_str(&format!("cost C = h{levels}\n"));
    src
}

/// `h_i = h_{i-1} + w`, `lines` times.
pub fn long_chain(lines: usize) -> String {
    let mut src = String::from("input x\nparam w\nh0 = x\n");
    for i in 1..=lines {
        src.push_str(&format!("h{i} = h{} + w\n", i - 1));
    }
    src.push_str(&format!("cost C = h{lines}\n"));
    src
}

/// `z_i = step; h_i = tanh(z_i)` for `steps` steps, the step formula written in `x{i}` (this
/// step's input) and `h{p}` (the state before it), with parameters `w`, `u` and `v` shared by
/// every step; the cost is the last state.
pub fn unrolled_recurrence(step: &str, steps: usize) -> String {
    let inputs: Vec<String> = (1..=steps).map(|i| format!("x{i}")).collect();
    let mut src = format!("input h0, {}\nparam w, u, v\n", inputs.join(", "));
    for i in 1..=steps {
        let z = step
            .replace("{i}", &i.to_string())
            .replace("{p}", &(i - 1).to_string());
        src.push_str(&format!("z{i} = {z}\nh{i} = tanh(z{i})\n"));
    }
    src.push_str(&format!("cost C = h{steps}\n"));
    src
}
