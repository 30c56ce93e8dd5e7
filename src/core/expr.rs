//! The hash-consed expression graph every other module works on.
//!
//! An expression is a node in one flat `Vec`, addressed by a small `Copy` [`Id`]; children are
//! always added before their parents, so walking ids in increasing order is a bottom-up walk.
//! A memo from node to id makes equal subterms one node, which is what keeps the derivative of a
//! deep network linear in size. Constructors here build exactly what they are asked for (no
//! simplification beyond unwrapping one-element sums and products), so a derivation step can show
//! the unsimplified form the rules produced; `simplify` is where forms are rewritten.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};

pub use crate::core::func::{Func, Func2};
pub use crate::core::shape::TensorOp;

/// A fast, non-cryptographic hasher for the graph's maps (the keys are small integers and
/// nodes built from them; no input is adversarial enough to need SipHash's flood resistance).
/// The multiply-rotate scheme of rustc's `FxHasher`.
#[derive(Default, Clone, Copy)]
pub struct FastHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FastHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.add(u64::from_le_bytes(chunk.try_into().expect("eight bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }
    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.add(i as u64);
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(i as u64);
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

/// A `HashMap` with [`FastHasher`].
pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;
/// A `HashSet` with [`FastHasher`].
pub type FastSet<K> = HashSet<K, BuildHasherDefault<FastHasher>>;

/// A node of the graph.
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Id(pub u32);

impl Id {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A name of the program (input, target, parameter, intermediate, cost, output).
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Sym(pub u32);

impl Sym {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// An exact rational where the arithmetic stays within `i64`, a float otherwise.
///
/// Textbook constants (½, λ/2n, 0.001) stay exact, so `2 · ½` folds to `1` and prints as such.
#[derive(Copy, Clone, Debug)]
pub enum Num {
    /// numerator, denominator; reduced, denominator > 0.
    Rat(i64, i64),
    Float(f64),
}

fn gcd(mut a: i128, mut b: i128) -> i128 {
    a = a.abs();
    b = b.abs();
    while b != 0 {
        let t = a % b;
        a = b;
        b = t;
    }
    a
}

// `add`, `mul`, `neg` and `pow` are exact-where-possible arithmetic with their own rules
// (falling back to floats); operator traits would hide that at the call sites.
#[allow(clippy::should_implement_trait)]
impl Num {
    pub const ZERO: Num = Num::Rat(0, 1);
    pub const ONE: Num = Num::Rat(1, 1);
    pub const MINUS_ONE: Num = Num::Rat(-1, 1);

    pub fn int(n: i64) -> Num {
        Num::Rat(n, 1)
    }

    /// A reduced rational, or a float when it does not fit.
    pub fn ratio(n: i128, d: i128) -> Num {
        if d == 0 {
            return Num::Float(if n == 0 {
                f64::NAN
            } else if n > 0 {
                f64::INFINITY
            } else {
                f64::NEG_INFINITY
            });
        }
        let g = gcd(n, d).max(1);
        let (mut n, mut d) = (n / g, d / g);
        if d < 0 {
            n = -n;
            d = -d;
        }
        match (i64::try_from(n), i64::try_from(d)) {
            (Ok(n), Ok(d)) => Num::Rat(n, d),
            _ => Num::Float(n as f64 / d as f64),
        }
    }

    /// Parses a decimal literal (`2`, `0.5`, `1e-3`, `.5`, `6.02E23`) exactly where it can.
    pub fn parse(text: &str) -> Option<Num> {
        // Most literals are small whole numbers (the `2` of a square): read directly, as the
        // general route below would read them.
        if (1..=18).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit()) {
            return text.parse::<i64>().ok().map(Num::int);
        }
        let value: f64 = text.parse().ok()?;
        if !value.is_finite() {
            return None;
        }
        let (mantissa, exponent) = match text.find(['e', 'E']) {
            Some(i) => (&text[..i], text[i + 1..].parse::<i32>().ok()?),
            None => (text, 0),
        };
        let (int_part, frac_part) = match mantissa.find('.') {
            Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
            None => (mantissa, ""),
        };
        let digits = format!("{int_part}{frac_part}");
        let digits = digits.trim_start_matches('0');
        let scale = exponent - frac_part.len() as i32;
        if digits.len() > 18 || scale.abs() > 18 {
            return Some(Num::Float(value));
        }
        let n: i128 = if digits.is_empty() {
            0
        } else {
            digits.parse().ok()?
        };
        let p = 10i128.pow(scale.unsigned_abs());
        Some(if scale >= 0 {
            Num::ratio(n * p, 1)
        } else {
            Num::ratio(n, p)
        })
    }

    pub fn to_f64(self) -> f64 {
        match self {
            Num::Rat(n, d) => n as f64 / d as f64,
            Num::Float(x) => x,
        }
    }

    pub fn is_zero(self) -> bool {
        self.to_f64() == 0.0
    }

    pub fn is_one(self) -> bool {
        matches!(self, Num::Rat(1, 1)) || matches!(self, Num::Float(x) if x == 1.0)
    }

    pub fn is_negative(self) -> bool {
        self.to_f64() < 0.0
    }

    pub fn as_integer(self) -> Option<i64> {
        match self {
            Num::Rat(n, 1) => Some(n),
            _ => None,
        }
    }

    pub fn add(self, other: Num) -> Num {
        match (self, other) {
            (Num::Rat(a, b), Num::Rat(c, d)) => Num::ratio(
                a as i128 * d as i128 + c as i128 * b as i128,
                b as i128 * d as i128,
            ),
            _ => Num::Float(self.to_f64() + other.to_f64()),
        }
    }

    pub fn mul(self, other: Num) -> Num {
        match (self, other) {
            (Num::Rat(a, b), Num::Rat(c, d)) => {
                Num::ratio(a as i128 * c as i128, b as i128 * d as i128)
            }
            _ => Num::Float(self.to_f64() * other.to_f64()),
        }
    }

    pub fn neg(self) -> Num {
        match self {
            Num::Rat(n, d) => Num::ratio(-(n as i128), d as i128),
            Num::Float(x) => Num::Float(-x),
        }
    }

    /// `self ^ exponent` when the result is exact, or a finite float for float operands.
    pub fn pow(self, exponent: Num) -> Option<Num> {
        match (self, exponent) {
            (Num::Rat(n, d), Num::Rat(e, 1)) if e.abs() <= 64 => {
                if n == 0 && e < 0 {
                    return None;
                }
                let (mut num, mut den) = (1i128, 1i128);
                for _ in 0..e.unsigned_abs() {
                    num = num.checked_mul(n as i128)?;
                    den = den.checked_mul(d as i128)?;
                }
                Some(if e >= 0 {
                    Num::ratio(num, den)
                } else {
                    Num::ratio(den, num)
                })
            }
            (Num::Float(_), _) | (_, Num::Float(_)) => {
                let v = self.to_f64().powf(exponent.to_f64());
                v.is_finite().then_some(Num::Float(v))
            }
            _ => None,
        }
    }

    fn key(self) -> (u8, i64, i64) {
        match self {
            Num::Rat(n, d) => (0, n, d),
            Num::Float(x) => (1, x.to_bits() as i64, 0),
        }
    }
}

impl PartialEq for Num {
    fn eq(&self, other: &Num) -> bool {
        self.key() == other.key()
    }
}
impl Eq for Num {}
impl std::hash::Hash for Num {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.key().hash(state)
    }
}

impl fmt::Display for Num {
    /// The input-language spelling: integers, exact decimals, `n/d`, or a float that parses back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Num::Rat(n, 1) => write!(f, "{n}"),
            Num::Rat(n, d) => match terminating_decimal(n, d) {
                Some(s) => f.write_str(&s),
                None => write!(f, "{n}/{d}"),
            },
            Num::Float(x) => write!(f, "{x:?}"),
        }
    }
}

/// `n/d` as a short decimal when the denominator has no prime factor but 2 and 5.
pub fn terminating_decimal(n: i64, d: i64) -> Option<String> {
    let mut rest = d;
    let mut twos = 0u32;
    let mut fives = 0u32;
    while rest % 2 == 0 {
        rest /= 2;
        twos += 1;
    }
    while rest % 5 == 0 {
        rest /= 5;
        fives += 1;
    }
    if rest != 1 {
        return None;
    }
    let places = twos.max(fives);
    if places > 12 {
        return None;
    }
    let scaled = n as i128 * 10i128.pow(places) / d as i128;
    let sign = if scaled < 0 { "-" } else { "" };
    let digits = format!("{:0>width$}", scaled.abs(), width = places as usize + 1);
    let (int, frac) = digits.split_at(digits.len() - places as usize);
    let frac = frac.trim_end_matches('0');
    Some(if frac.is_empty() {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    })
}

/// A mathematical constant that is not a rational: kept as itself so the reference computes
/// it to any precision and formulas print its letter.
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum Constant {
    Pi,
    E,
}

impl Constant {
    pub const ALL: [Constant; 2] = [Constant::Pi, Constant::E];

    /// The constant a name of the language denotes (`pi`, `π`, `e`) when no name of the
    /// program is spelled so.
    pub fn from_name(name: &str) -> Option<Constant> {
        match name {
            "pi" | "π" => Some(Constant::Pi),
            "e" => Some(Constant::E),
            _ => None,
        }
    }

    pub fn to_f64(self) -> f64 {
        match self {
            Constant::Pi => std::f64::consts::PI,
            Constant::E => std::f64::consts::E,
        }
    }
}

/// One node. Subtraction is a sum with a term times −1; division a product with a power −1.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum Node {
    Num(Num),
    /// π or e.
    Const(Constant),
    Var(Sym),
    Add(Box<[Id]>),
    Mul(Box<[Id]>),
    Pow(Id, Id),
    Call(Func, Id),
    /// A call of a built-in function of two arguments (`max(a, b)`).
    Call2(Func2, Id, Id),
    /// An unevaluated derivative `d(expr)/d(wrt)`, as a derivation step writes it: the total
    /// derivative through every name, or the direct partial (see [`Partial`]).
    Deriv(Id, Sym, Partial),
    /// An operation of vectors and matrices (a matrix product, a transpose, a sum over an
    /// axis, ...) on its operands. Only a tensor program holds these; `tensor::scalarise`
    /// writes them out entry by entry, so every pass over scalar graphs never meets one.
    Tensor(TensorOp, Box<[Id]>),
}

/// Which derivative a [`Node::Deriv`] denotes. They differ where the formula differentiated
/// mentions a name that itself depends on the variable: for `C = C0 + w1^2` with `C0` using
/// `w1`, the total ∂C/∂w1 goes through `C0` as well, the direct partial holds `C0` fixed.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum Partial {
    /// Through every path: what ∂C/∂w means in results, claims and the chain rule's left side.
    Total,
    /// The formula's own derivative, every other name in it held fixed (Werbos's simple
    /// partial beside his ordered derivative): printed `(∂C/∂w1)_direct`.
    Direct,
}

impl Node {
    /// The node's children in order, as [`Graph::children`] lists them, without allocating:
    /// evaluation passes read them once per node of graphs of tens of thousands of nodes.
    pub fn child_ids(&self) -> impl Iterator<Item = Id> + '_ {
        let (many, few, count): (&[Id], [Id; 2], usize) = match self {
            Node::Num(_) | Node::Const(_) | Node::Var(_) => (&[], [Id(0); 2], 0),
            Node::Add(xs) | Node::Mul(xs) | Node::Tensor(_, xs) => (xs, [Id(0); 2], 0),
            Node::Pow(a, b) | Node::Call2(_, a, b) => (&[], [*a, *b], 2),
            Node::Call(_, a) | Node::Deriv(a, ..) => (&[], [*a; 2], 1),
        };
        many.iter().copied().chain(few.into_iter().take(count))
    }

    /// The same node with each child `c` replaced by `f(c)`.
    pub fn map_children(&self, mut f: impl FnMut(Id) -> Id) -> Node {
        match self {
            n @ (Node::Num(_) | Node::Const(_) | Node::Var(_)) => n.clone(),
            Node::Add(xs) => Node::Add(xs.iter().map(|&x| f(x)).collect()),
            Node::Mul(xs) => Node::Mul(xs.iter().map(|&x| f(x)).collect()),
            Node::Pow(a, b) => Node::Pow(f(*a), f(*b)),
            Node::Call(g, a) => Node::Call(*g, f(*a)),
            Node::Call2(g, a, b) => Node::Call2(*g, f(*a), f(*b)),
            Node::Deriv(a, s, p) => Node::Deriv(f(*a), *s, *p),
            Node::Tensor(op, xs) => Node::Tensor(*op, xs.iter().map(|&x| f(x)).collect()),
        }
    }
}

/// The share of a graph (one in this many nodes) past which [`Graph::reachable`] marks the
/// nodes it reaches in a bitmap rather than a set.
const DENSE_SHARE: usize = 16;
/// Fewer reached nodes than this stay in the set whatever the graph's size.
const DENSE_MIN: usize = 256;

/// The graph: nodes in creation order (children first) and the memo that shares them.
///
/// The memo holds ids and hashes the nodes they point to, so each node is stored once (a
/// map from node to id would keep a second copy of every sum's and product's children). Each
/// entry keeps its node's hash beside the id: growing the table then moves entries without
/// hashing every node again (a sum of a wide layer is hundreds of children), and a lookup
/// reads a node only when the hashes agree.
#[derive(Default, Clone)]
pub struct Graph {
    nodes: Vec<Node>,
    memo: hashbrown::HashTable<(NodeHash, Id)>,
}

/// A node's hash as the memo keeps it: 32 bits, spread to the 64 the table reads.
#[derive(Copy, Clone, PartialEq, Eq)]
struct NodeHash(u32);

impl NodeHash {
    fn of(node: &Node) -> NodeHash {
        use std::hash::BuildHasher;
        let full = BuildHasherDefault::<FastHasher>::default().hash_one(node);
        NodeHash((full >> 32) as u32 ^ full as u32)
    }

    /// The table takes its bucket from the low bits and a tag from the top seven.
    fn spread(self) -> u64 {
        u64::from(self.0).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }
}

impl Graph {
    pub fn new() -> Graph {
        Graph::default()
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    pub fn node(&self, id: Id) -> &Node {
        &self.nodes[id.index()]
    }

    /// Adds a node, or returns the id of the equal node already present.
    pub fn add(&mut self, node: Node) -> Id {
        let hash = NodeHash::of(&node);
        let nodes = &self.nodes;
        if let Some(&(_, id)) = self.memo.find(hash.spread(), |&(h, id)| {
            h == hash && nodes[id.index()] == node
        }) {
            return id;
        }
        let id = Id(u32::try_from(self.nodes.len()).expect("expression graph exceeds 2^32 nodes"));
        self.nodes.push(node);
        self.memo
            .insert_unique(hash.spread(), (hash, id), |&(h, _)| h.spread());
        id
    }

    /// The id of a node already in the graph.
    pub fn find(&self, node: &Node) -> Option<Id> {
        let hash = NodeHash::of(node);
        self.memo
            .find(hash.spread(), |&(h, id)| {
                h == hash && self.nodes[id.index()] == *node
            })
            .map(|&(_, id)| id)
    }

    pub fn num(&mut self, n: Num) -> Id {
        self.add(Node::Num(n))
    }

    pub fn int(&mut self, n: i64) -> Id {
        self.num(Num::int(n))
    }

    pub fn constant(&mut self, c: Constant) -> Id {
        self.add(Node::Const(c))
    }

    pub fn var(&mut self, s: Sym) -> Id {
        self.add(Node::Var(s))
    }

    /// A sum of the terms as given; an empty sum is 0, a one-term sum the term itself.
    pub fn sum(&mut self, terms: Vec<Id>) -> Id {
        match terms.len() {
            0 => self.int(0),
            1 => terms[0],
            _ => self.add(Node::Add(terms.into_boxed_slice())),
        }
    }

    /// A product of the factors as given; an empty product is 1, a one-factor product the factor.
    pub fn product(&mut self, factors: Vec<Id>) -> Id {
        match factors.len() {
            0 => self.int(1),
            1 => factors[0],
            _ => self.add(Node::Mul(factors.into_boxed_slice())),
        }
    }

    pub fn pow(&mut self, base: Id, exponent: Id) -> Id {
        self.add(Node::Pow(base, exponent))
    }

    pub fn call(&mut self, f: Func, arg: Id) -> Id {
        self.add(Node::Call(f, arg))
    }

    pub fn call2(&mut self, f: Func2, a: Id, b: Id) -> Id {
        self.add(Node::Call2(f, a, b))
    }

    /// The total derivative `∂of/∂wrt`.
    pub fn deriv(&mut self, of: Id, wrt: Sym) -> Id {
        self.add(Node::Deriv(of, wrt, Partial::Total))
    }

    /// The derivative `∂of/∂wrt` of the given kind.
    pub fn derivative(&mut self, of: Id, wrt: Sym, partial: Partial) -> Id {
        self.add(Node::Deriv(of, wrt, partial))
    }

    pub fn neg(&mut self, x: Id) -> Id {
        let m1 = self.int(-1);
        self.product(vec![m1, x])
    }

    pub fn sub(&mut self, a: Id, b: Id) -> Id {
        let nb = self.neg(b);
        self.sum(vec![a, nb])
    }

    pub fn div(&mut self, a: Id, b: Id) -> Id {
        let m1 = self.int(-1);
        let inv = self.pow(b, m1);
        self.product(vec![a, inv])
    }

    pub fn as_num(&self, id: Id) -> Option<Num> {
        match self.node(id) {
            Node::Num(n) => Some(*n),
            _ => None,
        }
    }

    pub fn children(&self, id: Id) -> Vec<Id> {
        match self.node(id) {
            Node::Num(_) | Node::Const(_) | Node::Var(_) => vec![],
            Node::Add(xs) | Node::Mul(xs) | Node::Tensor(_, xs) => xs.to_vec(),
            Node::Pow(a, b) | Node::Call2(_, a, b) => vec![*a, *b],
            Node::Call(_, a) | Node::Deriv(a, ..) => vec![*a],
        }
    }

    /// Pushes the children of `id` onto `out` (without a vector of its own, for walks over
    /// many small formulas).
    pub fn push_children(&self, id: Id, out: &mut Vec<Id>) {
        match self.node(id) {
            Node::Num(_) | Node::Const(_) | Node::Var(_) => {}
            Node::Add(xs) | Node::Mul(xs) | Node::Tensor(_, xs) => out.extend(xs.iter().copied()),
            Node::Pow(a, b) | Node::Call2(_, a, b) => out.extend([*a, *b]),
            Node::Call(_, a) | Node::Deriv(a, ..) => out.push(*a),
        }
    }

    /// Puts the nodes of the small formula at `root` in `order`, in increasing id order (so
    /// children come first), walking with `stack`; `false` when it has more than `most`
    /// nodes. Both buffers are the caller's, kept from one formula to the next: no set and no
    /// allocation for the tens of thousands of small formulas of a large network.
    pub fn small_reachable(
        &self,
        root: Id,
        most: usize,
        order: &mut Vec<Id>,
        stack: &mut Vec<Id>,
    ) -> bool {
        order.clear();
        stack.clear();
        stack.push(root);
        while let Some(id) = stack.pop() {
            if order.contains(&id) {
                continue;
            }
            if order.len() == most {
                return false;
            }
            order.push(id);
            self.push_children(id, stack);
        }
        order.sort_unstable();
        true
    }

    /// Every node reachable from `roots`, in increasing id order (so children come first).
    pub fn reachable(&self, roots: &[Id]) -> Vec<Id> {
        // A set rather than a bitmap over the whole graph: the cost is the size of the reached
        // part, which matters when many small formulas of a large graph are visited. Once the
        // reached part is a good share of the graph, a bitmap costs less than the set, and its
        // scan gives the order without sorting.
        let dense_from = self.nodes.len() / DENSE_SHARE;
        let mut seen: FastSet<Id> = FastSet::default();
        let mut stack: Vec<Id> = roots.to_vec();
        while let Some(id) = stack.pop() {
            if seen.insert(id) {
                if seen.len() > dense_from && seen.len() > DENSE_MIN {
                    return self.reachable_dense(seen, stack, id);
                }
                self.push_children(id, &mut stack);
            }
        }
        let mut out: Vec<Id> = seen.into_iter().collect();
        out.sort_unstable();
        out
    }

    /// [`Graph::reachable`] carried on over a bitmap of the whole graph: `seen` holds the nodes
    /// reached so far, `stack` those still to visit, and `last` the node just reached, whose
    /// children are not on the stack yet.
    fn reachable_dense(&self, seen: FastSet<Id>, mut stack: Vec<Id>, last: Id) -> Vec<Id> {
        let mut bits = vec![0u64; self.nodes.len().div_ceil(64)];
        let mark = |bits: &mut [u64], id: Id| {
            let (word, bit) = (id.index() / 64, 1u64 << (id.index() % 64));
            let new = bits[word] & bit == 0;
            bits[word] |= bit;
            new
        };
        for &id in &seen {
            mark(&mut bits, id);
        }
        self.push_children(last, &mut stack);
        while let Some(id) = stack.pop() {
            if mark(&mut bits, id) {
                self.push_children(id, &mut stack);
            }
        }
        let mut out = Vec::with_capacity(seen.len());
        for (word, &set) in bits.iter().enumerate() {
            let mut rest = set;
            while rest != 0 {
                out.push(Id((word * 64 + rest.trailing_zeros() as usize) as u32));
                rest &= rest - 1;
            }
        }
        out
    }

    /// The nodes reachable from `roots` without passing through a node `known` accepts (those
    /// are left out, and so is everything only they reach), in increasing id order. A cache
    /// filled bottom-up visits only what it does not hold yet, so asking about many formulas
    /// that share one large subterm costs the subterm once rather than once per formula.
    pub fn reachable_unknown(&self, roots: &[Id], known: impl Fn(Id) -> bool) -> Vec<Id> {
        let mut seen: FastSet<Id> = FastSet::default();
        let mut stack: Vec<Id> = roots.iter().copied().filter(|&r| !known(r)).collect();
        while let Some(id) = stack.pop() {
            if seen.insert(id) {
                stack.extend(self.node(id).child_ids().filter(|&c| !known(c)));
            }
        }
        let mut out: Vec<Id> = seen.into_iter().collect();
        out.sort_unstable();
        out
    }

    /// Rebuilds `root` bottom-up, replacing each node by `f(graph, node, rebuilt-children node)`.
    ///
    /// Iterative over the reachable set, so arbitrarily deep expressions cannot overflow the
    /// stack. `f` gets the node with its children already mapped and returns its replacement.
    pub fn rewrite(
        &mut self,
        roots: &[Id],
        mut f: impl FnMut(&mut Graph, Node) -> Id,
    ) -> FastMap<Id, Id> {
        self.rewrite_tracked(roots, |g, id, node| {
            let node = node.unwrap_or_else(|| g.node(id).clone());
            f(g, node)
        })
    }

    /// [`Graph::rewrite`] for callers that can often keep a node as it is: `f` gets the
    /// node's original id and, only when some child changed, the node with its children
    /// replaced (`None` when the node is still the original, which `f` can read in the graph
    /// without a copy).
    pub fn rewrite_tracked(
        &mut self,
        roots: &[Id],
        mut f: impl FnMut(&mut Graph, Id, Option<Node>) -> Id,
    ) -> FastMap<Id, Id> {
        let order = self.reachable(roots);
        let mut mapped: FastMap<Id, Id> =
            FastMap::with_capacity_and_hasher(order.len(), Default::default());
        for id in order {
            let unchanged = match self.node(id) {
                Node::Num(_) | Node::Const(_) | Node::Var(_) => true,
                Node::Add(xs) | Node::Mul(xs) | Node::Tensor(_, xs) => {
                    xs.iter().all(|x| mapped[x] == *x)
                }
                Node::Pow(a, b) | Node::Call2(_, a, b) => mapped[a] == *a && mapped[b] == *b,
                Node::Call(_, a) | Node::Deriv(a, ..) => mapped[a] == *a,
            };
            let node = if unchanged {
                None
            } else {
                Some(self.node(id).map_children(|x| mapped[&x]))
            };
            let new = f(self, id, node);
            mapped.insert(id, new);
        }
        mapped
    }

    /// `root` with every occurrence of the subterm `old` replaced by `new`.
    pub fn replace(&mut self, root: Id, old: Id, new: Id) -> Id {
        let mapped = self.rewrite_tracked(&[root], |g, id, rebuilt| {
            if id == old {
                new
            } else {
                match rebuilt {
                    Some(n) => g.add(n),
                    None => id,
                }
            }
        });
        mapped[&root]
    }

    /// Copies an expression of another graph (over the same symbols) into this one.
    pub fn import(&mut self, from: &Graph, root: Id) -> Id {
        let mut mapped: FastMap<Id, Id> = FastMap::default();
        for id in from.reachable(&[root]) {
            let node = from.node(id).map_children(|x| mapped[&x]);
            let new = self.add(node);
            mapped.insert(id, new);
        }
        mapped[&root]
    }

    /// The number of nodes the expression would have printed as a tree (saturating).
    pub fn tree_size(&self, root: Id) -> u64 {
        let mut size: FastMap<Id, u64> = FastMap::default();
        for id in self.reachable(&[root]) {
            let s = self
                .children(id)
                .iter()
                .fold(1u64, |acc, c| acc.saturating_add(size[c]));
            size.insert(id, s);
        }
        size[&root]
    }

    /// Whether the expression mentions the variable.
    pub fn mentions(&self, root: Id, s: Sym) -> bool {
        self.reachable(&[root])
            .iter()
            .any(|&id| matches!(self.node(id), Node::Var(v) if *v == s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The nodes a walk reaches are the same, in the same order, whether it stays in its set
    /// or moves to a bitmap once it has reached a good share of the graph.
    #[test]
    fn a_walk_over_much_of_the_graph_reaches_what_a_small_one_does() {
        let mut g = Graph::new();
        let mut layer: Vec<Id> = (0..40).map(|i| g.var(Sym(i))).collect();
        let mut roots = Vec::new();
        for depth in 0..30 {
            layer = layer
                .windows(3)
                .map(|w| {
                    let p = g.product(vec![w[0], w[2]]);
                    g.sum(vec![p, w[1]])
                })
                .collect();
            layer.push(g.int(depth));
            roots.push(layer[layer.len() / 2]);
        }
        for root in roots {
            let mut naive: Vec<Id> = Vec::new();
            let mut stack = vec![root];
            while let Some(id) = stack.pop() {
                if !naive.contains(&id) {
                    naive.push(id);
                    stack.extend(g.children(id));
                }
            }
            naive.sort_unstable();
            assert_eq!(g.reachable(&[root]), naive);
        }
        assert!(g.reachable(&[*layer.last().unwrap(), layer[0]]).len() > DENSE_MIN);
    }

    #[test]
    fn equal_subterms_are_one_node() {
        let mut g = Graph::new();
        let x = g.var(Sym(0));
        let a = g.call(Func::Sigmoid, x);
        let b = g.call(Func::Sigmoid, x);
        assert_eq!(a, b);
        assert_eq!(g.len(), 2);
    }

    #[test]
    fn decimal_literals_are_exact() {
        assert_eq!(Num::parse("0.5"), Some(Num::Rat(1, 2)));
        assert_eq!(Num::parse("1e-3"), Some(Num::Rat(1, 1000)));
        assert_eq!(Num::parse(".25"), Some(Num::Rat(1, 4)));
        assert_eq!(Num::parse("6.02E2"), Some(Num::Rat(602, 1)));
        assert_eq!(Num::parse("2"), Some(Num::Rat(2, 1)));
        assert!(matches!(Num::parse("1e300"), Some(Num::Float(_))));
    }

    #[test]
    fn whole_numbers_read_as_the_decimal_rule_reads_them() {
        assert_eq!(Num::parse("0"), Some(Num::Rat(0, 1)));
        assert_eq!(Num::parse("007"), Some(Num::Rat(7, 1)));
        assert_eq!(
            Num::parse("999999999999999999"),
            Some(Num::Rat(999_999_999_999_999_999, 1))
        );
        // Past 18 digits the decimal rule keeps a float, leading zeros aside.
        assert!(matches!(
            Num::parse("1000000000000000000"),
            Some(Num::Float(_))
        ));
        assert_eq!(
            Num::parse("0001000000000000000"),
            Some(Num::Rat(1_000_000_000_000_000, 1))
        );
    }

    #[test]
    fn rationals_print_as_decimals_when_they_terminate() {
        assert_eq!(Num::Rat(1, 2).to_string(), "0.5");
        assert_eq!(Num::Rat(-3, 40).to_string(), "-0.075");
        assert_eq!(Num::Rat(1, 3).to_string(), "1/3");
        assert_eq!(Num::Rat(7, 1).to_string(), "7");
    }
}
