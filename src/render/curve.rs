//! The loss curve of a training run as an SVG picture: the mean cost after each epoch (the
//! start as epoch 0), on a logarithmic axis when the cost spans more than two decades.
//!
//! Drawn with `plotters`' SVG backend and no font files: text is written as SVG `<text>` in
//! the reader's sans-serif, so the picture needs nothing installed to be made or shown.

use plotters::prelude::*;

use crate::analysis::train::Training;

const WIDTH: u32 = 640;
const HEIGHT: u32 = 360;

/// The SVG document of the loss curve (an empty-axes picture when the run has no epochs).
pub fn loss_curve(training: &Training, cost_name: &str) -> String {
    let points: Vec<(f64, f64)> = std::iter::once(training.initial_cost)
        .chain(training.epochs.iter().map(|e| e.cost))
        .enumerate()
        .map(|(i, c)| (i as f64, c))
        .filter(|(_, c)| c.is_finite())
        .collect();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        // Drawing into a string cannot fail for I/O; a failure would be a plotters bug, and an
        // incomplete picture is better than none.
        let _ = draw(&root, &points, cost_name);
        let _ = root.present();
    }
    svg
}

fn draw(
    root: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    points: &[(f64, f64)],
    cost_name: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    root.fill(&WHITE)?;
    let last_epoch = points.last().map_or(1.0, |p| p.0.max(1.0));
    let positive: Vec<f64> = points.iter().map(|p| p.1).filter(|&c| c > 0.0).collect();
    let low = positive.iter().copied().fold(f64::INFINITY, f64::min);
    let high = points.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    let caption = format!("mean cost {cost_name} per epoch");
    let mut builder = ChartBuilder::on(root);
    builder
        .caption(caption, ("sans-serif", 18))
        .margin(24)
        .x_label_area_size(36)
        .y_label_area_size(64);
    let line = ShapeStyle::from(&RGBColor(0x1f, 0x6f, 0xb4)).stroke_width(2);
    if positive.len() == points.len() && low.is_finite() && high / low > 100.0 {
        let mut chart =
            builder.build_cartesian_2d(0.0..last_epoch, (low * 0.8..high * 1.25).log_scale())?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_desc("cost (log scale)")
            .y_label_formatter(&|v| format!("{v:.0e}"))
            .draw()?;
        chart.draw_series(LineSeries::new(points.iter().copied(), line))?;
    } else {
        let (low, high) = if high.is_finite() {
            let low = points
                .iter()
                .map(|p| p.1)
                .fold(f64::INFINITY, f64::min)
                .min(0.0);
            (low, if high > low { high * 1.05 } else { low + 1.0 })
        } else {
            (0.0, 1.0)
        };
        let mut chart = builder.build_cartesian_2d(0.0..last_epoch, low..high)?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_desc("cost")
            .draw()?;
        chart.draw_series(LineSeries::new(points.iter().copied(), line))?;
    }
    Ok(())
}

/// The per-layer gradient norms of a training run as an SVG picture: one line a layer, the
/// norm of the mean gradient over its parameters after each epoch (the start as epoch 0), on
/// a logarithmic axis. `None` for a program without layers.
pub fn layer_curves(training: &Training) -> Option<String> {
    if training.layer_numbers.is_empty() {
        return None;
    }
    let lines: Vec<(usize, Vec<(f64, f64)>)> = training
        .layer_numbers
        .iter()
        .enumerate()
        .map(|(i, &layer)| {
            let points = std::iter::once(training.initial_layer_norms[i])
                .chain(training.epochs.iter().map(|e| e.layer_norms[i]))
                .enumerate()
                .map(|(epoch, norm)| (epoch as f64, norm))
                .filter(|(_, norm)| norm.is_finite() && *norm > 0.0)
                .collect();
            (layer, points)
        })
        .collect();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        let _ = draw_layers(&root, &lines);
        let _ = root.present();
    }
    Some(svg)
}

fn draw_layers(
    root: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    lines: &[(usize, Vec<(f64, f64)>)],
) -> Result<(), Box<dyn std::error::Error>> {
    root.fill(&WHITE)?;
    let all = || lines.iter().flat_map(|(_, points)| points.iter());
    let last_epoch = all().map(|p| p.0).fold(1.0, f64::max);
    let low = all().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let high = all().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    let (low, high) = if low.is_finite() && high.is_finite() {
        (low * 0.5, high * 2.0)
    } else {
        (1e-3, 1.0)
    };
    let mut chart = ChartBuilder::on(root)
        .caption("gradient norm per layer", ("sans-serif", 18))
        .margin(24)
        .x_label_area_size(36)
        .y_label_area_size(64)
        .build_cartesian_2d(0.0..last_epoch, (low..high).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_desc("‖∂C/∂θ‖ of the layer (log scale)")
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .draw()?;
    for (i, (layer, points)) in lines.iter().enumerate() {
        let colour = Palette99::pick(i).to_rgba();
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                ShapeStyle::from(&colour).stroke_width(2),
            ))?
            .label(format!("layer {layer}"))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 16, y)], ShapeStyle::from(&colour))
            });
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()?;
    Ok(())
}
