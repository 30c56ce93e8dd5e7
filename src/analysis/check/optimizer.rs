//! Claims about an optimizer's update rule: the names a claim may use for an optimizer's state
//! (velocity, first and second moments, their bias-corrected forms) and hyperparameters (β,
//! β₁, β₂, μ, ρ, ε, the step t, weight decay λ), each made a name of the checker's model the
//! first time a claim uses it; and the formula each left side denotes, the optimizer's true
//! update in the names the claim uses. Momentum's velocity, Adam's moments and RMSProp's
//! square average follow Ng's notes and PyTorch's documentation: a velocity may be Ng's
//! exponential average `v ← βv + (1 − β)g` or PyTorch's buffer `b ← μb + g`; Adam's update
//! divides the bias-corrected first moment by the square root of the bias-corrected second
//! plus ε; decoupled weight decay (AdamW's −ηλθ) spares the biases, as `step` does. Nesterov's
//! momentum is momentum's velocity carried one step further with the same gradient, in
//! whichever velocity the claim writes (see [`Velocity`]); with an optimizer asked for, every
//! update rule is judged against that optimizer's rule.

use crate::analysis::optimizer::OptimizerKind;
use crate::core::expr::{FastMap, Func, Id, Node, Sym};
use crate::core::model::{Bound, Domain, SymKind, Symbol};
use crate::lang::ast::Span;

use super::points::fits;
use super::{Checker, Labels};

/// Which running average a state name holds.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum Moment {
    /// The exponential average of the gradient: momentum's velocity, Adam's first moment.
    First,
    /// The exponential average of the squared gradient: RMSProp's and Adam's second moment.
    Second,
}

/// A name for one parameter's optimizer state: `m_w1`, `v_w1`, `s_w1`, `m_hat_w1`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct StateName {
    /// As written: `m`, `v`, `s`, or PyTorch's momentum buffer `b`.
    pub letter: char,
    pub param: Sym,
    /// The bias-corrected form (`m_hat_w1`, `v_corrected_w1`).
    pub corrected: bool,
    /// The value before the step (`v_prev_w1`, CS231n's `v_prev`), where a rule names both.
    pub previous: bool,
}

/// An optimizer's hyperparameter.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub(super) enum Hyper {
    /// β of Ng's momentum and RMSProp.
    Beta,
    Beta1,
    Beta2,
    /// μ, PyTorch's `momentum`.
    Mu,
    /// ρ, the square average's decay in Hinton's and Keras's RMSProp.
    Rho,
    Eps,
    /// t, the number of the step, in the bias correction.
    Step,
    /// λ of decoupled weight decay.
    Decay,
}

impl Hyper {
    const ALL: [Hyper; 8] = [
        Hyper::Beta,
        Hyper::Beta1,
        Hyper::Beta2,
        Hyper::Mu,
        Hyper::Rho,
        Hyper::Eps,
        Hyper::Step,
        Hyper::Decay,
    ];

    /// The name the checker gives it, and its LaTeX.
    fn name(self) -> (&'static str, &'static str) {
        match self {
            Hyper::Beta => ("beta", "\\beta"),
            Hyper::Beta1 => ("beta1", "\\beta_1"),
            Hyper::Beta2 => ("beta2", "\\beta_2"),
            Hyper::Mu => ("mu", "\\mu"),
            Hyper::Rho => ("rho", "\\rho"),
            Hyper::Eps => ("eps", "\\epsilon"),
            Hyper::Step => ("t", "t"),
            Hyper::Decay => ("weight_decay", "\\lambda"),
        }
    }

    /// The spellings a claim may use (a name the program declares wins over all of them).
    fn spellings(self) -> &'static [&'static str] {
        match self {
            Hyper::Beta => &["beta", "β"],
            Hyper::Beta1 => &["beta1", "beta_1", "β1", "β_1"],
            Hyper::Beta2 => &["beta2", "beta_2", "β2", "β_2"],
            Hyper::Mu => &["mu", "μ", "momentum"],
            Hyper::Rho => &["rho", "ρ"],
            Hyper::Eps => &["eps", "epsilon", "ε", "ϵ", "varepsilon"],
            Hyper::Step => &["t"],
            Hyper::Decay => &["weight_decay", "wd", "lambda", "λ"],
        }
    }

    /// Where random points draw it from: decays in (0, 1), ε and λ positive, t ≥ 1.
    fn domain(self) -> Domain {
        let open = |value| {
            Some(Bound {
                value,
                closed: false,
            })
        };
        match self {
            Hyper::Beta | Hyper::Beta1 | Hyper::Beta2 | Hyper::Mu | Hyper::Rho => Domain {
                low: open(0.0),
                high: open(1.0),
            },
            Hyper::Eps | Hyper::Decay => Domain {
                low: open(0.0),
                high: None,
            },
            Hyper::Step => Domain {
                low: Some(Bound {
                    value: 1.0,
                    closed: true,
                }),
                high: Some(Bound {
                    value: 10.0,
                    closed: true,
                }),
            },
        }
    }

    /// The decays that may weigh a moment, in the order a claim's own choice is looked for.
    fn decays_of(moment: Moment) -> [Hyper; 3] {
        match moment {
            Moment::First => [Hyper::Beta1, Hyper::Beta, Hyper::Mu],
            Moment::Second => [Hyper::Beta2, Hyper::Rho, Hyper::Beta],
        }
    }
}

/// What a name the checker made for optimizer claims stands for.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub(super) enum OptimizerName {
    State(StateName),
    Hyper(Hyper),
}

/// How a claim holds momentum's velocity.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum Velocity {
    /// PyTorch's buffer b ← μb + g; momentum steps θ ← θ − ηb.
    Buffer,
    /// The velocity of Sutskever et al. and CS231n, v ← μv − ηg, the step itself: θ ← θ + v.
    Signed,
    /// Ng's exponential average v ← βv + (1 − β)g; momentum steps θ ← θ − ηv.
    Average,
}

/// How an update moves θ: against a step (θ − η·step) or by a change (θ + change).
#[derive(Copy, Clone, Debug)]
pub(super) enum Move {
    Against(Id),
    By(Id),
}

impl Move {
    /// A signed velocity's terms are the change itself; the others' are a step taken against.
    fn of(convention: Velocity, terms: Id) -> Move {
        match convention {
            Velocity::Signed => Move::By(terms),
            Velocity::Buffer | Velocity::Average => Move::Against(terms),
        }
    }
}

/// The moves a velocity rule may make: momentum's, Nesterov's, and Nesterov's slips.
#[derive(Copy, Clone, Debug)]
pub(super) struct VelocityMoves {
    /// Along the velocity: momentum's step, the gradient at the current point.
    pub momentum: Move,
    /// Along the velocity carried one step further with the same gradient.
    pub nesterov: Move,
    /// Nesterov's with the look-ahead term μv left out: plain gradient descent.
    pub without_lookahead: Move,
    /// Nesterov's with μ and 1 − μ swapped in the look-ahead.
    pub swapped: Move,
    /// Nesterov's with the look-ahead term's sign flipped.
    pub flipped: Move,
    /// The look-ahead term, μv.
    pub lookahead: Id,
}

/// A velocity rule read from a claim.
pub(super) struct VelocityRule {
    pub nesterov: bool,
    pub velocity: Sym,
    pub decay: Sym,
    pub moves: VelocityMoves,
}

/// The optimizer names of one checker: made on first use, remembered both ways.
#[derive(Default)]
pub(super) struct OptimizerNames {
    by_sym: FastMap<Sym, OptimizerName>,
    by_name: FastMap<OptimizerName, Sym>,
    /// The spelling a claim first gave each hyperparameter.
    written: FastMap<Hyper, String>,
    /// `v` is the second moment (PyTorch's Adam, which writes `m` and `v`) rather than the
    /// velocity or first moment (Ng's `v` beside `s`).
    pub v_is_second: bool,
    /// The optimizer the claims are about (`check --optimizer`): update rules are judged
    /// against its rule whatever names they use. `None`: the names a claim uses choose.
    pub asked: Option<OptimizerKind>,
}

impl OptimizerNames {
    pub(super) fn get(&self, s: Sym) -> Option<OptimizerName> {
        self.by_sym.get(&s).copied()
    }

    pub(super) fn contains(&self, s: Sym) -> bool {
        self.by_sym.contains_key(&s)
    }

    pub(super) fn moment(&self, state: StateName) -> Moment {
        match state.letter {
            'm' | 'b' => Moment::First,
            'v' if !self.v_is_second => Moment::First,
            _ => Moment::Second,
        }
    }
}

/// Whether a worksheet writes Adam's first moment as `m` (PyTorch's names: `m` and `v`), read
/// from its words: a word `m_…`, `mhat…` or a `\hat{m}`, where the program has no such name.
pub(super) fn writes_m_moment(claims: &[String], is_program_name: impl Fn(&str) -> bool) -> bool {
    claims.iter().any(|claim| {
        claim.contains("\\hat{m}")
            || claim.contains("\\hat m")
            || claim
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .any(|word| {
                    (word.starts_with("m_") || word.starts_with("mhat")) && !is_program_name(word)
                })
    })
}

impl Checker {
    /// The optimizer name `written` spells, made a name of the model on first use; `None` when
    /// it spells none. A name the program declares never reaches here.
    pub(super) fn optimizer_name(&mut self, written: &str) -> Option<Sym> {
        let plain: String = written
            .chars()
            .filter(|c| !matches!(c, '\\' | '{' | '}' | ' '))
            .collect();
        let plain = plain.replace("^", "_");
        let name = match Hyper::ALL
            .into_iter()
            .find(|h| h.spellings().contains(&plain.as_str()))
        {
            Some(h) => {
                // Named as first written (`lambda`, `ε`), so a counterexample reads as the claim.
                self.optimizer.written.entry(h).or_insert(plain);
                OptimizerName::Hyper(h)
            }
            None => OptimizerName::State(self.state_named(&plain)?),
        };
        Some(self.optimizer_symbol(name))
    }

    /// `m_w1`, `m_hat_w1`, `mhat_w1`, `v_corrected_w1`, `v_dw1` (Ng's `v["dW1"]`), `b_w1`, and the
    /// plain forms of LaTeX's `m_{w_1}`, `\hat{m}_{w_1}`.
    fn state_named(&self, plain: &str) -> Option<StateName> {
        let mut parts = plain.split('_').filter(|p| !p.is_empty());
        let head = parts.next()?;
        let (letter, mut corrected) = match head {
            "m" | "v" | "s" | "b" => (head.chars().next()?, false),
            "hatm" | "hatv" | "hats" | "mhat" | "vhat" | "shat" => {
                (head.chars().find(|c| matches!(c, 'm' | 'v' | 's'))?, true)
            }
            _ => return None,
        };
        let mut previous = false;
        let mut rest = Vec::new();
        for part in parts {
            match part {
                "hat" | "corrected" | "corr" => corrected = true,
                "prev" | "previous" | "old" => previous = true,
                _ => rest.push(part),
            }
        }
        let written = rest.join("_");
        let param = [written.as_str(), written.strip_prefix('d').unwrap_or("")]
            .into_iter()
            .filter(|n| !n.is_empty())
            .find_map(|n| {
                self.model
                    .lookup(n)
                    .or_else(|| match crate::lang::latex::resolve_name(&self.model, n) {
                        Ok(crate::lang::latex::Resolved::Symbol(s)) => Some(s),
                        _ => None,
                    })
                    .or_else(|| {
                        let lower = n.to_lowercase();
                        self.model.params().find(|&p| self.model.name(p) == lower)
                    })
            })
            .filter(|&p| self.model.symbol(p).kind == SymKind::Param)?;
        Some(StateName {
            letter,
            param,
            corrected,
            previous,
        })
    }

    /// The model's name for an optimizer name, made on first use.
    pub(super) fn optimizer_symbol(&mut self, name: OptimizerName) -> Sym {
        if let Some(&s) = self.optimizer.by_name.get(&name) {
            return s;
        }
        let (text, display, domain) = match name {
            OptimizerName::Hyper(h) => {
                let (text, latex) = h.name();
                let text = self.optimizer.written.get(&h).map_or(text, String::as_str);
                (text.to_string(), latex.to_string(), Some(h.domain()))
            }
            OptimizerName::State(state) => {
                let param = self.model.name(state.param).to_string();
                let param_latex = crate::lang::names::name_latex(self.model.symbol(state.param));
                let (text, latex) = if state.corrected {
                    (
                        format!("{}_hat_{param}", state.letter),
                        format!("\\hat{{{}}}_{{{param_latex}}}", state.letter),
                    )
                } else if state.previous {
                    (
                        format!("{}_prev_{param}", state.letter),
                        format!("{}^{{\\mathrm{{prev}}}}_{{{param_latex}}}", state.letter),
                    )
                } else {
                    (
                        format!("{}_{param}", state.letter),
                        format!("{}_{{{param_latex}}}", state.letter),
                    )
                };
                // A second moment is never negative.
                let domain = (self.optimizer.moment(state) == Moment::Second).then_some(Domain {
                    low: Some(Bound {
                        value: 0.0,
                        closed: false,
                    }),
                    high: None,
                });
                (text, latex, domain)
            }
        };
        let s = Sym(self.model.symbols.len() as u32);
        self.model.symbols.push(Symbol {
            name: text,
            kind: SymKind::Input,
            display: Some(display),
            span: Span::default(),
            shape: crate::core::tensor::Shape::SCALAR,
        });
        self.model.definitions.push(None);
        self.model.graph.var(s);
        if let Some(domain) = domain {
            self.model.domains.push((s, domain));
        }
        self.symbols = self.model.symbols.clone().into();
        self.optimizer.by_sym.insert(s, name);
        self.optimizer.by_name.insert(name, s);
        s
    }

    pub(super) fn hyper(&mut self, h: Hyper) -> Id {
        let s = self.optimizer_symbol(OptimizerName::Hyper(h));
        self.model.graph.var(s)
    }

    fn state(&mut self, letter: char, param: Sym, corrected: bool) -> Id {
        self.state_named_var(StateName {
            letter,
            param,
            corrected,
            previous: false,
        })
    }

    fn state_named_var(&mut self, state: StateName) -> Id {
        let s = self.optimizer_symbol(OptimizerName::State(state));
        self.model.graph.var(s)
    }

    /// The velocity's value before the step: `v_prev_w1` where the claim names it, otherwise
    /// the velocity's own name (on the right of its rule, a state's name is its old value).
    fn previous_velocity(&mut self, velocity: StateName, claimed: Id) -> Id {
        let previous = StateName {
            previous: true,
            ..velocity
        };
        if self
            .optimizer_names_in(claimed)
            .contains(&OptimizerName::State(previous))
        {
            self.state_named_var(previous)
        } else {
            self.state_named_var(velocity)
        }
    }

    /// The optimizer names a formula mentions.
    pub(super) fn optimizer_names_in(&self, id: Id) -> Vec<OptimizerName> {
        self.model
            .graph
            .reachable(&[id])
            .into_iter()
            .filter_map(|n| match self.model.graph.node(n) {
                Node::Var(s) => self.optimizer.get(*s),
                _ => None,
            })
            .collect()
    }

    /// The decay a claim weighs `moment` with: the first of the moment's decays it mentions,
    /// else the usual one (β₁ for Adam's `m`, β for Ng's velocity `v`, β₂ for a second moment).
    pub(super) fn decay_for(&self, moment: Moment, letter: char, claimed: Id) -> Hyper {
        let mentioned = self.optimizer_names_in(claimed);
        let candidates = Hyper::decays_of(moment);
        candidates
            .into_iter()
            .find(|h| mentioned.contains(&OptimizerName::Hyper(*h)))
            .unwrap_or(match (moment, letter) {
                (Moment::First, 'v') => Hyper::Beta,
                (Moment::First, 'b') => Hyper::Mu,
                _ => candidates[0],
            })
    }

    /// The decay of the other moment (β₂ for β₁, β₁ for β₂), a slip between the two.
    pub(super) fn other_decay(decay: Hyper) -> Hyper {
        match decay {
            Hyper::Beta2 | Hyper::Rho => Hyper::Beta1,
            _ => Hyper::Beta2,
        }
    }

    /// `d·previous + (1 − d)·signal`, an exponential average with decay `d`.
    pub(super) fn average(&mut self, d: Id, previous: Id, signal: Id) -> Id {
        let g = &mut self.model.graph;
        let one = g.int(1);
        let rest = g.sub(one, d);
        let kept = g.product(vec![d, previous]);
        let added = g.product(vec![rest, signal]);
        g.sum(vec![kept, added])
    }

    /// The signal a moment averages: the gradient, or its square.
    pub(super) fn signal(&mut self, moment: Moment, param: Sym) -> Id {
        let gradient = self.gradient(param);
        match moment {
            Moment::First => gradient,
            Moment::Second => {
                let g = &mut self.model.graph;
                let two = g.int(2);
                g.pow(gradient, two)
            }
        }
    }

    /// `raw / (1 − d^t)`, the bias correction.
    pub(super) fn corrected(&mut self, raw: Id, d: Id) -> Id {
        let t = self.hyper(Hyper::Step);
        let g = &mut self.model.graph;
        let power = g.pow(d, t);
        let one = g.int(1);
        let denominator = g.sub(one, power);
        g.div(raw, denominator)
    }

    /// What a state name's new value is: its running average one step on, or, bias-corrected,
    /// the raw moment divided by 1 − dᵗ. A velocity is read in whichever of the three usual
    /// conventions the claim is written in (see [`Velocity`]).
    pub(super) fn state_truth(&mut self, state: StateName, claimed: Id) -> Id {
        if state.previous {
            return self.state_named_var(state);
        }
        let moment = self.optimizer.moment(state);
        let decay = self.decay_for(moment, state.letter, claimed);
        let d = self.hyper(decay);
        if state.corrected {
            let raw = self.state(state.letter, state.param, false);
            return self.corrected(raw, d);
        }
        if moment == Moment::First && matches!(state.letter, 'v' | 'b') {
            let claimed = crate::core::diff::resolve_derivatives(&mut self.model, claimed);
            let previous = self.previous_velocity(state, claimed);
            let gradient = self.gradient(state.param);
            let rules: Vec<Id> = [Velocity::Buffer, Velocity::Signed, Velocity::Average]
                .into_iter()
                .map(|convention| {
                    let fresh = self.fresh_term(convention, d, gradient);
                    let g = &mut self.model.graph;
                    let kept = g.product(vec![d, previous]);
                    g.sum(vec![kept, fresh])
                })
                .collect();
            if let Some(&rule) = rules
                .iter()
                .find(|&&rule| self.agrees_at_random_points(rule, claimed))
            {
                return rule;
            }
            // Wrong in every convention: the one its learning rate (a signed velocity holds
            // −ηg) or its letter (PyTorch's `b`) points to, else Ng's average.
            let rate = self.rate;
            return if self.model.graph.mentions(claimed, rate) {
                rules[1]
            } else if state.letter == 'b' {
                rules[0]
            } else {
                rules[2]
            };
        }
        let previous = self.state(state.letter, state.param, false);
        let signal = self.signal(moment, state.param);
        self.average(d, previous, signal)
    }

    /// What a velocity adds to its decayed old value each step: (1 − β)g for Ng's average, g
    /// for PyTorch's buffer, −ηg for the signed velocity.
    fn fresh_term(&mut self, convention: Velocity, d: Id, gradient: Id) -> Id {
        let eta = self.model.graph.var(self.rate);
        let g = &mut self.model.graph;
        match convention {
            Velocity::Average => {
                let one = g.int(1);
                let rest = g.sub(one, d);
                g.product(vec![rest, gradient])
            }
            Velocity::Buffer => gradient,
            Velocity::Signed => {
                let step = g.product(vec![eta, gradient]);
                g.neg(step)
            }
        }
    }

    /// The update of θ by momentum or Nesterov momentum in the velocity the claim names (or
    /// `b`, PyTorch's buffer, where it names none), in the convention that agrees with the
    /// claim, with the Nesterov slips the diagnosis tries; `None` when the claim is not a
    /// velocity rule. Nesterov's step is the velocity carried one step further with the same
    /// gradient (PyTorch's g + μb, the signed velocity's μv − ηg, Ng's βv + (1 − β)g), which
    /// is the update `step` takes: its parameter is the look-ahead point of Sutskever's form,
    /// so the gradient at the current parameter is the gradient at the look-ahead point.
    /// Where the claim names the old velocity too (the rewrite θ ← θ − μv_prev + (1 + μ)v of
    /// Bengio et al. and CS231n), the gradient's term is the velocity's own rule solved for
    /// it, v − μv_prev.
    pub(super) fn velocity_rule(&mut self, theta: Sym, claimed: Id) -> Option<VelocityRule> {
        let [first, second] = self.moments_used(theta, claimed);
        let nesterov = match self.optimizer.asked {
            Some(OptimizerKind::Nesterov) => true,
            Some(OptimizerKind::Momentum) => false,
            Some(_) => return None,
            None => {
                let velocity = first.filter(|f| matches!(f.letter, 'v' | 'b'))?;
                if second.is_some() || velocity.corrected {
                    return None;
                }
                let mentioned = self.optimizer_names_in(claimed);
                Hyper::decays_of(Moment::First)
                    .iter()
                    .any(|h| mentioned.contains(&OptimizerName::Hyper(*h)))
            }
        };
        let velocity = first
            .filter(|f| matches!(f.letter, 'v' | 'b') && !f.corrected)
            .unwrap_or(StateName {
                letter: 'b',
                param: theta,
                corrected: false,
                previous: false,
            });
        let decay = self.decay_for(Moment::First, velocity.letter, claimed);
        let decay_sym = self.optimizer_symbol(OptimizerName::Hyper(decay));
        let velocity_sym = self.optimizer_symbol(OptimizerName::State(velocity));
        let d = self.model.graph.var(decay_sym);
        let v = self.model.graph.var(velocity_sym);
        let previous = self.previous_velocity(velocity, claimed);
        let previous_named = previous != v;
        let gradient = self.gradient(theta);
        let mut conventions = Vec::new();
        for convention in [Velocity::Buffer, Velocity::Signed, Velocity::Average] {
            let fresh = if previous_named {
                let g = &mut self.model.graph;
                let kept = g.product(vec![d, previous]);
                g.sub(v, kept)
            } else {
                self.fresh_term(convention, d, gradient)
            };
            let swapped_fresh = match convention {
                Velocity::Average if !previous_named => self.model.graph.product(vec![d, gradient]),
                _ => fresh,
            };
            let g = &mut self.model.graph;
            let one = g.int(1);
            let rest = g.sub(one, d);
            let ahead = g.product(vec![d, v]);
            let further = g.sum(vec![ahead, fresh]);
            let ahead_swapped = g.product(vec![rest, v]);
            let swapped = g.sum(vec![ahead_swapped, swapped_fresh]);
            let behind = g.neg(ahead);
            let flipped = g.sum(vec![behind, fresh]);
            let moves = VelocityMoves {
                momentum: Move::of(convention, v),
                nesterov: Move::of(convention, further),
                without_lookahead: Move::of(convention, fresh),
                swapped: Move::of(convention, swapped),
                flipped: Move::of(convention, flipped),
                lookahead: ahead,
            };
            let truth = if nesterov {
                moves.nesterov
            } else {
                moves.momentum
            };
            let mut rules = vec![self.optimizer_update(theta, truth, claimed, false)];
            if nesterov {
                for slip in [
                    moves.momentum,
                    moves.without_lookahead,
                    moves.swapped,
                    moves.flipped,
                ] {
                    rules.push(self.optimizer_update(theta, slip, claimed, false));
                }
            }
            conventions.push((moves, rules));
        }
        let claimed_resolved = crate::core::diff::resolve_derivatives(&mut self.model, claimed);
        // The convention the claim is right in, else the one one of Nesterov's slips explains.
        let agreeing = |checker: &mut Checker, only_truth: bool| {
            conventions.iter().position(|(_, rules)| {
                let tried = if only_truth { &rules[..1] } else { &rules[..] };
                tried
                    .iter()
                    .any(|&rule| checker.agrees_at_random_points(rule, claimed_resolved))
            })
        };
        let chosen = match agreeing(self, true).or_else(|| agreeing(self, false)) {
            Some(i) => i,
            // Otherwise a claim that adds its velocity holds the signed one, else PyTorch's
            // buffer (Nesterov's usual form) or Ng's average.
            None if self.grows_with(claimed_resolved, velocity_sym) => 1,
            None if nesterov || velocity.letter == 'b' => 0,
            None => 2,
        };
        let (moves, _) = conventions.swap_remove(chosen);
        Some(VelocityRule {
            nesterov,
            velocity: velocity_sym,
            decay: decay_sym,
            moves,
        })
    }

    /// Whether a formula grows with the name `s` at a random point.
    fn grows_with(&mut self, id: Id, s: Sym) -> bool {
        let slope = crate::core::diff::differentiate_expr(&mut self.model, id, s);
        let leaves = self.leaves_of(&[slope]);
        (0..4).any(|attempt| {
            self.random_sample(&leaves, Labels::Free, attempt)
                .and_then(|sample| self.f64_at(slope, &sample))
                .is_some_and(|v| v > 0.0)
        })
    }

    /// The parts of an update rule a claim's names choose: the first moment's and the second
    /// moment's names (each `None` when the claim uses none), plain or bias-corrected.
    fn moments_used(&self, theta: Sym, claimed: Id) -> [Option<StateName>; 2] {
        let mut used = [None, None];
        for name in self.optimizer_names_in(claimed) {
            if let OptimizerName::State(state) = name
                && state.param == theta
            {
                let slot = match self.optimizer.moment(state) {
                    Moment::First => 0,
                    Moment::Second => 1,
                };
                // A corrected name wins: the rule is written in it.
                if !state.previous && used[slot].is_none_or(|u: StateName| !u.corrected) {
                    used[slot] = Some(state);
                }
            }
        }
        // The moments the asked optimizer keeps, named as PyTorch does where the claim names
        // none (Adam's `m`, and `v` where the worksheet reads it so, else `s`).
        let default = |letter| StateName {
            letter,
            param: theta,
            corrected: false,
            previous: false,
        };
        let second_letter = if self.optimizer.v_is_second { 'v' } else { 's' };
        match self.optimizer.asked {
            Some(OptimizerKind::Adam) => {
                used[0] = used[0].or(Some(default('m')));
                used[1] = used[1].or(Some(default(second_letter)));
            }
            Some(OptimizerKind::RmsProp) => {
                used[0] = None;
                used[1] = used[1].or(Some(default(second_letter)));
            }
            Some(OptimizerKind::Sgd) => used = [None, None],
            _ => {}
        }
        used
    }

    /// The move an optimizer's update makes for θ, written in the claim's names: momentum's
    /// and Nesterov's (see [`Checker::velocity_rule`]), RMSProp's step `g/(√s + ε)`, Adam's
    /// `m̂/(√v̂ + ε)` (each moment bias-corrected through its raw name when the claim does not
    /// name the corrected one), or the gradient itself. `eps_inside` puts ε inside the square
    /// root and `uncorrected` leaves the corrections out of the moments listed there, the two
    /// slips the diagnosis tries.
    pub(super) fn optimizer_move(
        &mut self,
        theta: Sym,
        claimed: Id,
        eps_inside: bool,
        uncorrected: [bool; 2],
    ) -> Move {
        if let Some(rule) = self.velocity_rule(theta, claimed) {
            return if rule.nesterov {
                rule.moves.nesterov
            } else {
                rule.moves.momentum
            };
        }
        Move::Against(self.optimizer_step(theta, claimed, eps_inside, uncorrected))
    }

    fn optimizer_step(
        &mut self,
        theta: Sym,
        claimed: Id,
        eps_inside: bool,
        uncorrected: [bool; 2],
    ) -> Id {
        let [first, second] = self.moments_used(theta, claimed);
        let adam = first.is_some() && second.is_some();
        let moment_value = |checker: &mut Checker, state: StateName, slot: usize| -> Id {
            let moment = checker.optimizer.moment(state);
            if state.corrected {
                return checker.state(state.letter, theta, true);
            }
            let raw = checker.state(state.letter, theta, false);
            if !adam || uncorrected[slot] {
                return raw;
            }
            let decay = checker.decay_for(moment, state.letter, claimed);
            let d = checker.hyper(decay);
            checker.corrected(raw, d)
        };
        let numerator = match first {
            Some(state) => moment_value(self, state, 0),
            None => self.gradient(theta),
        };
        let Some(second) = second else {
            return numerator;
        };
        let v = moment_value(self, second, 1);
        let eps = self.hyper(Hyper::Eps);
        let g = &mut self.model.graph;
        let denominator = if eps_inside {
            let inside = g.sum(vec![v, eps]);
            g.call(Func::Sqrt, inside)
        } else {
            let root = g.call(Func::Sqrt, v);
            g.sum(vec![root, eps])
        };
        g.div(numerator, denominator)
    }

    /// θ moved (θ − η·step or θ + change), and −ηλθ beside it when the claim uses weight
    /// decay and θ is not a bias (`decay_bias`: decayed whatever θ is, the slip the diagnosis
    /// tries).
    pub(super) fn optimizer_update(
        &mut self,
        theta: Sym,
        moved: Move,
        claimed: Id,
        decay_bias: bool,
    ) -> Id {
        let uses_decay = self
            .optimizer_names_in(claimed)
            .contains(&OptimizerName::Hyper(Hyper::Decay));
        let decayed = uses_decay
            && (decay_bias
                || crate::analysis::optimizer::decayed_parameters(&self.model, &[theta])[0]);
        let eta = self.model.graph.var(self.rate);
        let lambda = decayed.then(|| self.hyper(Hyper::Decay));
        let g = &mut self.model.graph;
        let theta_var = g.var(theta);
        let mut rule = match moved {
            Move::Against(step) => {
                let step = g.product(vec![eta, step]);
                g.sub(theta_var, step)
            }
            Move::By(change) => g.sum(vec![theta_var, change]),
        };
        if let Some(lambda) = lambda {
            let decay = g.product(vec![eta, lambda, theta_var]);
            rule = g.sub(rule, decay);
        }
        rule
    }

    /// Whether the update claim of θ decays it though θ is a bias (weight decay spares them).
    pub(super) fn spares_decay(&self, theta: Sym) -> bool {
        !crate::analysis::optimizer::decayed_parameters(&self.model, &[theta])[0]
    }

    /// Whether two formulas agree in float64 at a few random points (to choose between two
    /// conventions that are both right; the identity itself is judged afterwards).
    fn agrees_at_random_points(&mut self, a: Id, b: Id) -> bool {
        let leaves = self.leaves_of(&[a, b]);
        let mut compared = 0;
        for attempt in 0..8 {
            let Some(sample) = self.random_sample(&leaves, Labels::Free, attempt) else {
                continue;
            };
            match (self.f64_at(a, &sample), self.f64_at(b, &sample)) {
                (Some(x), Some(y)) if x.is_finite() && y.is_finite() => {
                    if !fits(x, y) {
                        return false;
                    }
                    compared += 1;
                }
                _ => {}
            }
        }
        compared >= 3
    }
}
