//! The local rules: the derivative of one definition with respect to one name by the rule that
//! gives it (sum, product, quotient, power, each built-in), written down as a step when asked.

use super::{Engine, LARGE_SUM, Rule, Step, push_snapshots};
use crate::core::expr::{Constant, FastMap, Func, Func2, Graph, Id, Node, Num, Sym};
use crate::core::simplify;

/// The most names a factor may have to be searched before the others (see
/// [`Engine::single_dependent_factor`]).
const NARROW_FACTOR: usize = 64;

impl Engine<'_> {
    /// A derivative placeholder of the rules in [`Engine::d`]: as printed when steps are
    /// written, plain otherwise (it is substituted away before anyone sees it).
    fn placeholder(&mut self, e: Id, x: Sym, shown: bool) -> Id {
        if shown {
            self.partial(e, x)
        } else {
            self.g().deriv(e, x)
        }
    }

    /// The simplified local derivative `∂u/∂v` of u's definition, recording its steps if asked.
    pub(super) fn local_derivative(&mut self, u: Sym, v: Sym, steps: Option<&mut Vec<Step>>) -> Id {
        let def = self
            .model
            .definition(u)
            .expect("a local derivative of a computed name");
        let Some(steps) = steps else {
            if let Some(&cached) = self.local_cache.get(&(u, v)) {
                return cached;
            }
            if let Some(result) = self.local_derivative_by_site(u, def, v) {
                self.local_cache.insert((u, v), result);
                return result;
            }
            let raw = self.d(def, v, None);
            // Many local derivatives are the same formula (`∂z_j/∂w_jk = a_k` for every j):
            // simplify each formula once.
            let result = match self.simplified_cache.get(&raw) {
                Some(&r) => r,
                None => {
                    let r = self.simplify_recognising(&[raw])[0];
                    self.simplified_cache.insert(raw, r);
                    r
                }
            };
            self.local_cache.insert((u, v), result);
            return result;
        };
        let options = self.recognise_options();
        let lhs = self.local_name(u, v);
        let start = steps.len();
        let raw = self.d(def, v, Some(steps));
        let whole = self.partial(def, v);
        if steps.len() == start {
            let rule = if self.mentions(def, v) {
                Rule::Identity
            } else {
                Rule::Constant
            };
            steps.push(Step {
                rule,
                lhs,
                rhs: vec![whole, raw],
            });
        } else {
            // A long sum (a neuron of a wide layer) is not written out again for each of its
            // terms' derivatives: the step keeps the terms that mention v.
            let long_sum =
                matches!(self.model.graph.node(def), Node::Add(terms) if terms.len() > LARGE_SUM);
            let first = &mut steps[start];
            first.lhs = lhs;
            if long_sum {
                if let Rule::Sum { mentioning, .. } = &mut first.rule {
                    *mentioning = Some(v);
                }
            } else {
                first.rhs.insert(0, whole);
            }
            if steps.len() - start > 1 || steps.last().and_then(|s| s.rhs.last()) != Some(&raw) {
                steps.push(Step {
                    rule: Rule::Substitute,
                    lhs,
                    rhs: vec![raw],
                });
            }
        }
        let (result, snapshots) = simplify::simplify_traced(self.g(), raw, &options);
        push_snapshots(steps, lhs, &snapshots);
        self.local_cache.entry((u, v)).or_insert(result);
        result
    }

    /// The value of a placeholder `∂child/∂x` when the child is a leaf.
    pub(super) fn leaf_derivative(&mut self, child: Id, x: Sym) -> Option<Id> {
        match *self.model.graph.node(child) {
            Node::Var(s) => Some(self.g().int(if s == x { 1 } else { 0 })),
            Node::Num(_) => Some(self.g().int(0)),
            _ => None,
        }
    }

    /// `∂e/∂x` of one expression, other names held constant. Records the rule applied at each
    /// node when `steps` is given; returns the assembled, unsimplified derivative.
    pub(super) fn d(&mut self, e: Id, x: Sym, steps: Option<&mut Vec<Step>>) -> Id {
        if !self.mentions(e, x) {
            return self.g().int(0);
        }
        self.d_mentioning(e, x, steps)
    }

    /// [`Engine::d`] of an expression known to mention `x` (a term or factor just found to,
    /// whose list of names need not be searched again).
    fn d_mentioning(&mut self, e: Id, x: Sym, mut steps: Option<&mut Vec<Step>>) -> Id {
        // The sum and product shortcuts below take a last term or a widest factor as the one
        // mentioning x without searching it.
        debug_assert!(self.mentions(e, x), "d_mentioning of a formula without x");
        let shown = steps.is_some();
        // One term of a sum mentions x, with no coefficient: the sum rule's formula is that
        // term's derivative alone. Unwritten, it is that derivative, passed on without a
        // formula or a cache entry of its own (a penalty's sum of sums is met once per
        // weight, once a level).
        if !shown && let Some(term) = self.sole_plain_term(e, x) {
            return self.d_mentioning(term, x, None);
        }
        if !shown && let Some(&r) = self.raw_cache.get(&(e, x)) {
            return r;
        }
        // A sum is not copied whole: a wide layer's (or a penalty's) sum is met once per
        // parameter, and only the terms that mention x are read.
        let dependent = match self.model.graph.node(e) {
            Node::Add(terms) => Some(self.dependent_terms(e, terms.len(), x)),
            _ => None,
        };
        let is_x = |g: &Graph, id: Id| matches!(g.node(id), Node::Var(s) if *s == x);
        let node = match dependent {
            Some(terms) => Node::Add(terms.into_boxed_slice()),
            None => self.model.graph.node(e).clone(),
        };
        // One factor of a product mentions x, and is no varying denominator (that takes the
        // quotient rule): unwritten, the constant multiple rule is the other factors times
        // that factor's derivative, built directly rather than substituted into a formula
        // (a penalty's `λ·Σw²/(2n)` is met once per weight).
        let node = match node {
            Node::Mul(factors) if !shown => match self.single_dependent_factor(&factors, x) {
                Some(i) => {
                    let inner = self.d_mentioning(factors[i], x, None);
                    // The other factors in their order, then the derivative.
                    let mut product = factors.into_vec();
                    product[i..].rotate_left(1);
                    *product.last_mut().expect("a factor") = inner;
                    let result = self.g().product(product);
                    self.raw_cache.insert((e, x), result);
                    return result;
                }
                None => Node::Mul(factors),
            },
            other => other,
        };
        let (rule, views, children): (Rule, Vec<Id>, Vec<Id>) = match node {
            Node::Num(_) | Node::Const(_) => unreachable!("numbers mention no variable"),
            Node::Var(_) => return self.g().int(1),
            Node::Tensor(..) => {
                unreachable!("tensor operations are scalarised before any scalar pass")
            }
            Node::Deriv(..) => {
                let resolved = self.resolve_derivatives(e);
                return self.d(resolved, x, steps);
            }
            Node::Add(dependent) => {
                let mut formula_terms = Vec::new();
                let mut children = Vec::new();
                let mut difference = false;
                for &term in dependent.iter() {
                    let (c, rest) = split_coefficient(self.g(), term);
                    difference |= c.is_negative();
                    let placeholder = self.placeholder(rest, x, shown);
                    children.push(rest);
                    formula_terms.push(simplify::scale(self.g(), c, placeholder));
                }
                let formula = self.g().sum(formula_terms);
                let rule = Rule::Sum {
                    difference,
                    mentioning: None,
                };
                (rule, vec![formula], children)
            }
            Node::Mul(factors) => self.d_product(&factors, x, shown),
            Node::Pow(base, exponent) => {
                let base_varies = self.mentions(base, x);
                let exponent_varies = self.mentions(exponent, x);
                // Each placeholder is built where its rule uses it: a penalty's `w^2` is met
                // once per weight, and an unused placeholder would be a node of its own.
                if base_varies && !exponent_varies {
                    let lowered = match self.g().as_num(exponent) {
                        Some(n) => {
                            let m = n.add(Num::MINUS_ONE);
                            if m.is_one() {
                                base
                            } else {
                                let m = self.g().num(m);
                                self.g().pow(base, m)
                            }
                        }
                        None => {
                            let m1 = self.g().int(-1);
                            let m = self.g().sum(vec![exponent, m1]);
                            self.g().pow(base, m)
                        }
                    };
                    let mut f = vec![exponent, lowered];
                    let chain = !is_x(&self.model.graph, base);
                    if chain {
                        f.push(self.placeholder(base, x, shown));
                    }
                    let formula = self.g().product(f);
                    (
                        Rule::Power { chain },
                        vec![formula],
                        if chain { vec![base] } else { vec![] },
                    )
                } else if !base_varies {
                    let dp = self.placeholder(exponent, x, shown);
                    let ln = self.g().call(Func::Log, base);
                    let formula = self.g().product(vec![e, ln, dp]);
                    (Rule::Exponential, vec![formula], vec![exponent])
                } else {
                    let db = self.placeholder(base, x, shown);
                    let dp = self.placeholder(exponent, x, shown);
                    let ln = self.g().call(Func::Log, base);
                    let t1 = self.g().product(vec![dp, ln]);
                    let m1 = self.g().int(-1);
                    let inv = self.g().pow(base, m1);
                    let t2 = self.g().product(vec![exponent, db, inv]);
                    let s = self.g().sum(vec![t1, t2]);
                    let formula = self.g().product(vec![e, s]);
                    (Rule::GeneralPower, vec![formula], vec![base, exponent])
                }
            }
            Node::Call(f, u) => {
                let chain = !is_x(&self.model.graph, u);
                let du = self.placeholder(u, x, shown);
                let mut views: Vec<Vec<Id>> = Vec::new();
                let zero = match f {
                    Func::Sigmoid => {
                        let p = self.g().call(Func::SigmoidPrime, u);
                        let s = self.g().call(Func::Sigmoid, u);
                        let one = self.g().int(1);
                        let r = self.g().sub(one, s);
                        views.push(vec![p]);
                        views.push(vec![s, r]);
                        false
                    }
                    Func::Tanh => {
                        let p = self.g().call(Func::TanhPrime, u);
                        let t = self.g().call(Func::Tanh, u);
                        let two = self.g().int(2);
                        let sq = self.g().pow(t, two);
                        let one = self.g().int(1);
                        let r = self.g().sub(one, sq);
                        views.push(vec![p]);
                        views.push(vec![r]);
                        false
                    }
                    Func::Relu => {
                        let p = self.g().call(Func::ReluPrime, u);
                        views.push(vec![p]);
                        false
                    }
                    Func::Softplus => {
                        let s = self.g().call(Func::Sigmoid, u);
                        views.push(vec![s]);
                        false
                    }
                    Func::Exp => {
                        views.push(vec![e]);
                        false
                    }
                    Func::Log => {
                        let m1 = self.g().int(-1);
                        let inv = self.g().pow(u, m1);
                        views.push(vec![inv]);
                        false
                    }
                    Func::Sqrt => {
                        let half = self.g().num(Num::Rat(1, 2));
                        let m1 = self.g().int(-1);
                        let inv = self.g().pow(e, m1);
                        views.push(vec![half, inv]);
                        false
                    }
                    Func::Abs => {
                        // sgn(0) = 0: the convention abs'(0) = 0, as relu'(0) = 0, so a flat
                        // region (abs of a dead relu) has slope 0 rather than the 0/0 of u/|u|
                        let sign = self.g().call(Func::Sign, u);
                        views.push(vec![sign]);
                        false
                    }
                    Func::Sign => true,
                    Func::SigmoidPrime => {
                        let p = self.g().call(Func::SigmoidPrime, u);
                        let s = self.g().call(Func::Sigmoid, u);
                        let two = self.g().int(2);
                        let two_s = self.g().product(vec![two, s]);
                        let one = self.g().int(1);
                        let r = self.g().sub(one, two_s);
                        views.push(vec![p, r]);
                        false
                    }
                    Func::TanhPrime => {
                        let m2 = self.g().int(-2);
                        let t = self.g().call(Func::Tanh, u);
                        let p = self.g().call(Func::TanhPrime, u);
                        views.push(vec![m2, t, p]);
                        false
                    }
                    Func::ReluPrime => true,
                    Func::Erf | Func::Erfc => {
                        let sign = self.g().int(if f == Func::Erf { 2 } else { -2 });
                        let bell = self.gaussian(u, Num::ONE);
                        let root_pi = self.root_pi(Num::ONE);
                        views.push(vec![sign, root_pi, bell]);
                        false
                    }
                    Func::Gelu => {
                        // Φ(u) + u·φ(u), Φ written with erfc so it keeps its value for u ≪ 0
                        let half = self.g().num(Num::Rat(1, 2));
                        let m1 = self.g().int(-1);
                        let two = self.g().int(2);
                        let m_half = self.g().num(Num::Rat(-1, 2));
                        let inv_root2 = self.g().pow(two, m_half);
                        let scaled = self.g().product(vec![m1, u, inv_root2]);
                        let tail = self.g().call(Func::Erfc, scaled);
                        let cdf = self.g().product(vec![half, tail]);
                        let bell = self.gaussian(u, Num::Rat(1, 2));
                        let root_two_pi = self.root_pi(Num::int(2));
                        let density = self.g().product(vec![u, root_two_pi, bell]);
                        views.push(vec![self.g().sum(vec![cdf, density])]);
                        false
                    }
                    Func::Silu => {
                        let s = self.g().call(Func::Sigmoid, u);
                        let p = self.g().call(Func::SigmoidPrime, u);
                        let up = self.g().product(vec![u, p]);
                        views.push(vec![self.g().sum(vec![s, up])]);
                        false
                    }
                    Func::Sin => {
                        views.push(vec![self.g().call(Func::Cos, u)]);
                        false
                    }
                    Func::Cos => {
                        let m1 = self.g().int(-1);
                        let s = self.g().call(Func::Sin, u);
                        views.push(vec![m1, s]);
                        false
                    }
                };
                if zero {
                    let z = self.g().int(0);
                    let rule = Rule::Function {
                        func: f,
                        chain: false,
                    };
                    (rule, vec![z], vec![])
                } else {
                    let formulas: Vec<Id> = views
                        .into_iter()
                        .map(|mut v| {
                            if chain {
                                v.push(du);
                            }
                            self.g().product(v)
                        })
                        .collect();
                    let rule = Rule::Function { func: f, chain };
                    (rule, formulas, if chain { vec![u] } else { vec![] })
                }
            }
            Node::Call2(f, a, b) if f.is_gate() => self.d_routing(f, a, b, x, shown),
            Node::Call2(f, a, b) => self.d_activation2(f, a, b, x, shown),
        };
        let formula = *views.last().expect("every rule gives a formula");
        if !shown && children.is_empty() {
            // No placeholder to substitute: the formula is the derivative.
            self.raw_cache.insert((e, x), formula);
            return formula;
        }
        let mut leaves = FastMap::default();
        let mut inner = Vec::new();
        for &c in &children {
            match self.leaf_derivative(c, x) {
                Some(v) => {
                    let p = self.placeholder(c, x, shown);
                    leaves.insert(p, v);
                }
                None => inner.push(c),
            }
        }
        let leaf_view = self.substitute(formula, &leaves);
        if let Some(steps) = steps.as_deref_mut() {
            let lhs = self.partial(e, x);
            let mut rhs = views.clone();
            if leaf_view != formula {
                rhs.push(leaf_view);
            }
            steps.push(Step { rule, lhs, rhs });
        }
        let mut map = leaves;
        for c in inner {
            let dc = self.d(c, x, steps.as_deref_mut());
            let p = self.placeholder(c, x, shown);
            map.insert(p, dc);
        }
        let result = self.substitute(formula, &map);
        self.raw_cache.insert((e, x), result);
        result
    }

    /// The one term of the sum `e` (which mentions `x`) that mentions `x`, when only one does and
    /// it has no numeric coefficient; `None` for anything else (found without listing the terms).
    fn sole_plain_term(&mut self, e: Id, x: Sym) -> Option<Id> {
        let Node::Add(terms) = self.model.graph.node(e) else {
            return None;
        };
        let len = terms.len();
        let term = if len <= LARGE_SUM {
            let mut found = None;
            for i in 0..len {
                let t = sum_term(&self.model.graph, e, i);
                // The sum mentions x: when no other term does, the last one must, and its
                // names are not searched (a cost's penalty, met once per weight).
                let implied = found.is_none() && i + 1 == len;
                if implied || self.mentions(t, x) {
                    if found.is_some() {
                        return None;
                    }
                    found = Some(t);
                }
            }
            found?
        } else {
            let &[(_, i)] = self.term_index_of(e).terms_mentioning(x) else {
                return None;
            };
            sum_term(&self.model.graph, e, i as usize)
        };
        let graph = &self.model.graph;
        (!matches!(graph.node(term), Node::Mul(fs) if graph.as_num(fs[0]).is_some()))
            .then_some(term)
    }

    /// The index of a large sum's terms by the names they mention, built once.
    fn term_index_of(&mut self, sum: Id) -> &TermIndex {
        if !self.term_index.contains_key(&sum) {
            let Node::Add(terms) = self.model.graph.node(sum).clone() else {
                unreachable!("a sum")
            };
            let mut entries: Vec<(Sym, u32)> = Vec::new();
            for (i, &t) in terms.iter().enumerate() {
                entries.extend(self.vars_of(t).iter().map(|&s| (s, i as u32)));
            }
            self.term_index.insert(sum, TermIndex::new(entries));
        }
        &self.term_index[&sum]
    }

    /// The terms of the sum `sum` (of `len` terms) that mention `x`, in their order; a large
    /// sum's are read from an index of its terms by variable, built once.
    pub(super) fn dependent_terms(&mut self, sum: Id, len: usize, x: Sym) -> Vec<Id> {
        let term = |g: &Graph, i: usize| sum_term(g, sum, i);
        if len <= LARGE_SUM {
            let mut dependent = Vec::new();
            for i in 0..len {
                let t = term(&self.model.graph, i);
                if self.mentions(t, x) {
                    dependent.push(t);
                }
            }
            return dependent;
        }
        self.term_index_of(sum);
        self.term_index[&sum]
            .terms_mentioning(x)
            .iter()
            .map(|&(_, i)| term(&self.model.graph, i as usize))
            .collect()
    }

    /// `max` and `min` pass the whole upstream gradient to the argument they pick:
    /// `∂max(a, b) = relu'(a − b) ∂a + (1 − relu'(a − b)) ∂b`, so a tie (relu'(0) = 0) sends it
    /// to the second argument, as [`Func2::picks_first`] evaluates.
    fn d_routing(
        &mut self,
        f: Func2,
        a: Id,
        b: Id,
        x: Sym,
        shown: bool,
    ) -> (Rule, Vec<Id>, Vec<Id>) {
        let (larger, smaller) = if f == Func2::Min { (b, a) } else { (a, b) };
        let gap = self.g().sub(larger, smaller);
        let to_first = self.g().call(Func::ReluPrime, gap);
        let one = self.g().int(1);
        let to_second = self.g().sub(one, to_first);
        let mut terms = Vec::new();
        let mut children = Vec::new();
        for (arg, share) in [(a, to_first), (b, to_second)] {
            if self.mentions(arg, x) {
                let d_arg = self.placeholder(arg, x, shown);
                terms.push(self.g().product(vec![share, d_arg]));
                children.push(arg);
            }
        }
        let formula = self.g().sum(terms);
        (Rule::Routing(f), vec![formula], children)
    }

    /// `e^(−c·u²)`, the Gaussian the derivatives of erf and GELU carry.
    fn gaussian(&mut self, u: Id, c: Num) -> Id {
        let two = self.g().int(2);
        let square = self.g().pow(u, two);
        let coefficient = self.g().num(c.neg());
        let exponent = self.g().product(vec![coefficient, square]);
        self.g().call(Func::Exp, exponent)
    }

    /// `(k·π)^(−1/2)`.
    fn root_pi(&mut self, k: Num) -> Id {
        let pi = self.g().constant(Constant::Pi);
        let base = if k.is_one() {
            pi
        } else {
            let k = self.g().num(k);
            self.g().product(vec![k, pi])
        };
        let m_half = self.g().num(Num::Rat(-1, 2));
        self.g().pow(base, m_half)
    }

    /// The activations and the cost with a parameter: the derivative in each argument that
    /// mentions `x`, times that argument's derivative (the chain rule through both).
    fn d_activation2(
        &mut self,
        f: Func2,
        z: Id,
        p: Id,
        x: Sym,
        shown: bool,
    ) -> (Rule, Vec<Id>, Vec<Id>) {
        let zero = self.g().int(0);
        let one = self.g().int(1);
        let step = self.g().call(Func::ReluPrime, z);
        let below = self.g().sub(one, step);
        let (in_z, in_p) = match f {
            Func2::LeakyRelu => {
                let dz = self.g().call2(Func2::LeakyReluPrime, z, p);
                (dz, self.g().call2(Func2::Min, z, zero))
            }
            Func2::Elu => {
                let dz = self.g().call2(Func2::EluPrime, z, p);
                let e = self.g().call(Func::Exp, z);
                let em1 = self.g().sub(e, one);
                (dz, self.g().call2(Func2::Min, em1, zero))
            }
            Func2::Huber => {
                // the residual clipped to [−δ, δ]; in δ, the excess of |r| over δ
                let upper = self.g().call2(Func2::Min, z, p);
                let minus_p = self.g().neg(p);
                let clip = self.g().call2(Func2::Max, minus_p, upper);
                let r = self.g().call(Func::Abs, z);
                let excess = self.g().sub(r, p);
                (clip, self.g().call2(Func2::Max, excess, zero))
            }
            Func2::LeakyReluPrime => (zero, below),
            Func2::EluPrime => {
                let e = self.g().call(Func::Exp, z);
                (
                    self.g().product(vec![below, p, e]),
                    self.g().product(vec![below, e]),
                )
            }
            Func2::Max | Func2::Min => unreachable!("gates route"),
        };
        let mut terms = Vec::new();
        let mut children = Vec::new();
        for (arg, partial) in [(z, in_z), (p, in_p)] {
            if self.mentions(arg, x) {
                let d_arg = self.placeholder(arg, x, shown);
                terms.push(self.g().product(vec![partial, d_arg]));
                children.push(arg);
            }
        }
        let formula = self.g().sum(terms);
        (Rule::Function2(f), vec![formula], children)
    }

    /// The factor of a product that alone mentions `x`, unless it is a denominator (a
    /// negative power), whose variation takes the quotient rule.
    ///
    /// The product mentions `x` (see [`Engine::d_mentioning`]): factors of more than
    /// [`NARROW_FACTOR`] names are searched last, and a single one not at all when no other
    /// factor mentions `x` (a penalty's `λ·Σw²/(2n)` is met once per weight, and its sum has
    /// every weight's name).
    fn single_dependent_factor(&mut self, factors: &[Id], x: Sym) -> Option<usize> {
        let mut dependent = None;
        let mut wide = None;
        let mut wide_count = 0;
        for (i, &f) in factors.iter().enumerate() {
            let names = self.vars_of(f);
            if names.len() > NARROW_FACTOR {
                wide = wide.or(Some(i));
                wide_count += 1;
            } else if names.binary_search(&x).is_ok() {
                if dependent.is_some() {
                    return None;
                }
                dependent = Some(i);
            }
        }
        let i = match (dependent, wide) {
            (None, Some(only)) if wide_count == 1 => only,
            (_, None) => dependent?,
            _ => {
                for (i, &f) in factors.iter().enumerate() {
                    if self.vars_of(f).len() > NARROW_FACTOR && self.mentions(f, x) {
                        if dependent.is_some() {
                            return None;
                        }
                        dependent = Some(i);
                    }
                }
                dependent?
            }
        };
        (!is_denominator(&self.model.graph, factors[i])).then_some(i)
    }

    pub(super) fn d_product(
        &mut self,
        factors: &[Id],
        x: Sym,
        shown: bool,
    ) -> (Rule, Vec<Id>, Vec<Id>) {
        let denominator_varies = factors
            .iter()
            .any(|&f| is_denominator(&self.model.graph, f) && self.mentions(f, x));
        if denominator_varies {
            let mut numerator = Vec::new();
            let mut denominator = Vec::new();
            for &f in factors {
                if is_denominator(&self.model.graph, f) {
                    let Node::Pow(b, e) = *self.model.graph.node(f) else {
                        unreachable!()
                    };
                    let n = self.g().as_num(e).expect("checked numeric").neg();
                    denominator.push(if n.is_one() {
                        b
                    } else {
                        let n = self.g().num(n);
                        self.g().pow(b, n)
                    });
                } else {
                    numerator.push(f);
                }
            }
            let u = self.g().product(numerator);
            let v = self.g().product(denominator);
            let du = self.placeholder(u, x, shown);
            let dv = self.placeholder(v, x, shown);
            let a = self.g().product(vec![du, v]);
            let b = self.g().product(vec![u, dv]);
            let top = self.g().sub(a, b);
            let two = self.g().int(2);
            let bottom = self.g().pow(v, two);
            let formula = self.g().div(top, bottom);
            return (Rule::Quotient, vec![formula], vec![u, v]);
        }
        let dependent: Vec<usize> = (0..factors.len())
            .filter(|&i| self.mentions(factors[i], x))
            .collect();
        if dependent.len() == 1 {
            let i = dependent[0];
            let mut f: Vec<Id> = factors
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, &f)| f)
                .collect();
            let d = self.placeholder(factors[i], x, shown);
            f.push(d);
            let formula = self.g().product(f);
            return (Rule::ConstantMultiple, vec![formula], vec![factors[i]]);
        }
        let mut terms = Vec::new();
        for &i in &dependent {
            let mut f: Vec<Id> = Vec::new();
            for (j, &g) in factors.iter().enumerate() {
                if j == i {
                    f.push(self.placeholder(g, x, shown));
                } else {
                    f.push(g);
                }
            }
            terms.push(self.g().product(f));
        }
        let formula = self.g().sum(terms);
        let children = dependent.iter().map(|&i| factors[i]).collect();
        (Rule::Product, vec![formula], children)
    }
}

/// Whether a factor is a denominator: a power with a negative number for its exponent.
pub(super) fn is_denominator(g: &Graph, f: Id) -> bool {
    match g.node(f) {
        Node::Pow(_, e) => g.as_num(*e).is_some_and(Num::is_negative),
        _ => false,
    }
}

fn split_coefficient(g: &mut Graph, term: Id) -> (Num, Id) {
    if let Node::Mul(factors) = g.node(term).clone()
        && let Some(c) = g.as_num(factors[0])
    {
        let rest = g.product(factors[1..].to_vec());
        return (c, rest);
    }
    (Num::ONE, term)
}

/// The `i`-th term of the sum `sum`.
fn sum_term(graph: &Graph, sum: Id, i: usize) -> Id {
    match graph.node(sum) {
        Node::Add(terms) => terms[i],
        _ => unreachable!("a sum"),
    }
}

/// A large sum's terms by the names they mention: each (name, term position), sorted by name.
/// Where the names' ids lie close together, where each name's entries start is also kept by
/// id and read directly: a penalty's sum of every weight's square is searched once per
/// weight, and a binary search of it missed the cache at nearly every step.
pub(super) struct TermIndex {
    entries: Vec<(Sym, u32)>,
    lowest: u32,
    /// `starts[id - lowest]`: the first entry of the name with that id; empty when the ids
    /// are spread too thinly to keep one slot each.
    starts: Vec<u32>,
}

impl TermIndex {
    fn new(mut entries: Vec<(Sym, u32)>) -> TermIndex {
        entries.sort_unstable();
        let (lowest, highest) = match (entries.first(), entries.last()) {
            (Some(&(lo, _)), Some(&(hi, _))) => (lo.0, hi.0),
            _ => (0, 0),
        };
        let span = (highest - lowest) as usize + 1;
        let mut starts = Vec::new();
        if !entries.is_empty() && span <= 2 * entries.len() + 64 {
            starts.reserve(span + 1);
            let mut at = 0;
            for id in lowest..=highest {
                while entries[at].0.0 < id {
                    at += 1;
                }
                starts.push(at as u32);
            }
            starts.push(entries.len() as u32);
        }
        TermIndex {
            entries,
            lowest,
            starts,
        }
    }

    /// The entries of the terms that mention `x`, in their order.
    fn terms_mentioning(&self, x: Sym) -> &[(Sym, u32)] {
        if self.starts.is_empty() {
            let first = self.entries.partition_point(|&(s, _)| s < x);
            let end = first + self.entries[first..].partition_point(|&(s, _)| s == x);
            return &self.entries[first..end];
        }
        match x.0.checked_sub(self.lowest) {
            Some(slot) if (slot as usize) + 1 < self.starts.len() => {
                let slot = slot as usize;
                &self.entries[self.starts[slot] as usize..self.starts[slot + 1] as usize]
            }
            _ => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig {
            failure_persistence: None,
            ..ProptestConfig::default()
        })]
        /// Read directly by id (names close together) or searched (names spread out), a term
        /// index gives each name the terms a scan of every entry finds, in their order.
        #[test]
        fn a_term_index_finds_the_terms_a_scan_finds(
            names in prop::collection::vec(0u32..40, 1..6),
            spread in prop::sample::select(vec![1u32, 1000]),
            terms in 1usize..30,
        ) {
            let mut entries = Vec::new();
            for t in 0..terms {
                for (k, &n) in names.iter().enumerate() {
                    if (t + k) % (n as usize % 4 + 1) == 0 {
                        entries.push((Sym(n * spread + 7), t as u32));
                    }
                }
            }
            let mut deduped = entries.clone();
            deduped.sort_unstable();
            deduped.dedup();
            let index = TermIndex::new(deduped.clone());
            let spread_out = spread > 1 && deduped.iter().any(|&(s, _)| s != deduped[0].0);
            prop_assert_eq!(index.starts.is_empty(), spread_out);
            for probe in 0..(45 * spread + 10) {
                let x = Sym(probe);
                let scanned: Vec<(Sym, u32)> =
                    deduped.iter().copied().filter(|&(s, _)| s == x).collect();
                prop_assert_eq!(index.terms_mentioning(x), &scanned[..]);
            }
        }
    }
}
