//! The flame graph's tree: the stacks of the Stacks view merged from the root (the outermost
//! frame) down, with each event's kind as a leaf, drawn as an icicle. Built from the view's
//! rows, not from the events, so its cost follows the number of distinct stacks.

use std::collections::HashMap;
use std::sync::Arc;

use super::key_cache::StackKeys;
use super::table::StackTable;

/// What a node is, for its colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NodeKind {
    /// Every event.
    Root,
    User,
    Kernel,
    /// `[no stack]` or `[unsymbolized]`.
    Placeholder,
    /// The event kind, at the leaf, of events that succeeded.
    Event,
    /// The event kind, at the leaf, of events that failed.
    Failed,
}

#[derive(Clone, Debug)]
pub struct FlameNode {
    pub name: Arc<str>,
    pub kind: NodeKind,
    pub count: u64,
    pub parent: Option<usize>,
    /// Largest first.
    pub children: Vec<usize>,
    /// The root is 0.
    pub depth: usize,
}

/// A node drawn in a row of the icicle: columns `x0..x1` of `depth - zoom depth`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placed {
    pub node: usize,
    pub row: usize,
    pub x0: u16,
    pub x1: u16,
}

pub struct FlameTree {
    /// `nodes[0]` is the root.
    pub nodes: Vec<FlameNode>,
}

pub const ROOT: usize = 0;

impl FlameTree {
    pub fn build(table: &StackTable, keys: &StackKeys) -> Self {
        let mut tree = FlameTree {
            nodes: vec![FlameNode {
                name: "all".into(),
                kind: NodeKind::Root,
                count: 0,
                parent: None,
                children: Vec::new(),
                depth: 0,
            }],
        };
        let mut children: HashMap<(usize, Arc<str>, NodeKind), usize> = HashMap::new();
        let mut child = |tree: &mut FlameTree, parent: usize, name: Arc<str>, kind, count| {
            let node = *children
                .entry((parent, Arc::clone(&name), kind))
                .or_insert_with(|| {
                    let depth = tree.nodes[parent].depth + 1;
                    tree.nodes.push(FlameNode {
                        name,
                        kind,
                        count: 0,
                        parent: Some(parent),
                        children: Vec::new(),
                        depth,
                    });
                    let node = tree.nodes.len() - 1;
                    tree.nodes[parent].children.push(node);
                    node
                });
            tree.nodes[node].count += count;
            node
        };
        for row in &table.rows {
            tree.nodes[ROOT].count += row.count;
            let key = &keys.info(row.key).key;
            let mut at = ROOT;
            if let Some(placeholder) = key.placeholder() {
                at = child(
                    &mut tree,
                    at,
                    placeholder.into(),
                    NodeKind::Placeholder,
                    row.count,
                );
            }
            for frame in key.frames().iter().rev() {
                let kind = if frame.kernel {
                    NodeKind::Kernel
                } else {
                    NodeKind::User
                };
                at = child(&mut tree, at, Arc::clone(&frame.name), kind, row.count);
            }
            for kind in &row.kinds {
                let succeeded = kind.events - kind.failed;
                if succeeded > 0 {
                    child(
                        &mut tree,
                        at,
                        kind.kind.name().into(),
                        NodeKind::Event,
                        succeeded,
                    );
                }
                if kind.failed > 0 {
                    let name = format!("{} ✗", kind.kind.name());
                    child(&mut tree, at, name.into(), NodeKind::Failed, kind.failed);
                }
            }
        }
        let counts: Vec<u64> = tree.nodes.iter().map(|n| n.count).collect();
        for node in &mut tree.nodes {
            node.children
                .sort_by(|&a, &b| counts[b].cmp(&counts[a]).then(a.cmp(&b)));
        }
        tree
    }

    /// The names from the root's child down to `node`: what keeps a selection across rebuilds.
    pub fn path(&self, node: usize) -> Vec<(Arc<str>, NodeKind)> {
        let mut path = Vec::new();
        let mut at = node;
        while let Some(parent) = self.nodes.get(at).and_then(|n| n.parent) {
            path.push((Arc::clone(&self.nodes[at].name), self.nodes[at].kind));
            at = parent;
        }
        path.reverse();
        path
    }

    /// The node at the end of `path`, or the deepest one of it that still exists.
    pub fn find(&self, path: &[(Arc<str>, NodeKind)]) -> usize {
        let mut at = ROOT;
        for (name, kind) in path {
            let next = self.nodes[at]
                .children
                .iter()
                .copied()
                .find(|&c| self.nodes[c].kind == *kind && self.nodes[c].name == *name);
            match next {
                Some(next) => at = next,
                None => break,
            }
        }
        at
    }

    /// The neighbour of `node` among its parent's children, `delta` places over.
    pub fn sibling(&self, node: usize, delta: isize) -> usize {
        let Some(parent) = self.nodes.get(node).and_then(|n| n.parent) else {
            return node;
        };
        let siblings = &self.nodes[parent].children;
        let index = siblings.iter().position(|&s| s == node).unwrap_or(0);
        let target = index
            .saturating_add_signed(delta)
            .min(siblings.len().saturating_sub(1));
        siblings[target]
    }

    /// Whether `node` is `ancestor` or below it.
    pub fn is_within(&self, node: usize, ancestor: usize) -> bool {
        let mut at = Some(node);
        while let Some(current) = at {
            if current == ancestor {
                return true;
            }
            at = self.nodes.get(current).and_then(|n| n.parent);
        }
        false
    }

    /// Where each node under `zoom` goes in an icicle `width` columns wide: `zoom` fills the
    /// top row, and each node's children share its columns by count. Nodes narrower than a
    /// column are left out, with everything under them.
    pub fn layout(&self, zoom: usize, width: u16, rows: usize) -> Vec<Placed> {
        let mut placed = Vec::new();
        if zoom >= self.nodes.len() {
            return placed;
        }
        let mut stack = vec![(zoom, 0_usize, 0_u16, width)];
        while let Some((node, row, x0, x1)) = stack.pop() {
            if row >= rows || x1 <= x0 {
                continue;
            }
            placed.push(Placed { node, row, x0, x1 });
            let total = self.nodes[node].count.max(1);
            let span = u64::from(x1 - x0);
            let mut before = 0;
            for &child in &self.nodes[node].children {
                let start = x0 + u16::try_from(before * span / total).unwrap_or(0);
                before += self.nodes[child].count;
                let end = x0 + u16::try_from(before * span / total).unwrap_or(0);
                stack.push((child, row + 1, start, end));
            }
        }
        placed
    }
}
