"""Compiled graph steps on integer-encoded identifiers (numpy + scipy.sparse.csgraph).

* `component_labels`: connected components of an undirected edge list.
* `account_cut`: enforce "at most one account per person" across whole chains of links with
  earliest-evidence-wins semantics. Sequentially this is Kruskal's algorithm that refuses any
  union joining two components that each hold an account. The same result comes from one
  compiled minimum-spanning-tree call: add a virtual root joined to every account with weights
  below all real edges, give each real edge a unique weight that increases with its priority,
  take the minimum spanning tree and drop the root. Each remaining tree holds exactly one
  account, and a pair of identifiers stays linked only when both ends fall in the same tree.
  With unique weights the tree is unique, so the result does not depend on input order.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components, minimum_spanning_tree

from pipelines.identity.columnar import distinct_values


def component_labels(node_count: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Component label per node (isolated nodes get their own label); fastest with the edges
    sorted by their left end (the labels do not depend on the order)."""
    if node_count == 0:
        return np.zeros(0, dtype=np.int64)
    # float64 weights: csgraph works on float64, so any other dtype is first copied
    weights = np.ones(len(left), dtype=np.float64)
    if len(left) and (left[1:] >= left[:-1]).all():  # sorted by left end: rows built directly
        row_starts = np.zeros(node_count + 1, dtype=np.int32)
        np.cumsum(np.bincount(left, minlength=node_count), out=row_starts[1:])
        matrix = csr_matrix(
            (weights, right.astype(np.int32), row_starts), shape=(node_count, node_count)
        )
    else:
        matrix = coo_matrix((weights, (left, right)), shape=(node_count, node_count)).tocsr()
    # undirected: the same labels as directed/weak, in half the time (no transposed copy)
    _, labels = connected_components(matrix, directed=False)
    return labels.astype(np.int64)


def account_cut(
    node_count: int,
    left: np.ndarray,
    right: np.ndarray,
    account: np.ndarray,
    frozen_left: np.ndarray | None = None,
    frozen_right: np.ndarray | None = None,
    labels: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Which edges survive the one-account-per-person rule, and the components once cut.

    `left`/`right` are the edges in priority order (earliest evidence first). `account` gives
    each node its account key (>= 0) or -1. `frozen_*` edges (the previous run's persons, in an
    incremental run) come before every edge. Returns a mask over the edges and the component
    label of each node in the graph of the kept edges and kept frozen edges. Components without
    two accounts are never cut, so they keep the labels of the whole graph; only the others are
    labelled again. `labels`: the whole graph's labels, when the caller has them (computed here
    otherwise).
    """
    frozen_left = np.zeros(0, dtype=np.int64) if frozen_left is None else frozen_left
    frozen_right = np.zeros(0, dtype=np.int64) if frozen_right is None else frozen_right
    all_left = np.concatenate([frozen_left, left])
    all_right = np.concatenate([frozen_right, right])
    if labels is None:
        labels = component_labels(node_count, all_left, all_right)

    has_account = account >= 0
    stride = int(account.max()) + 1 if has_account.any() else 1
    component_accounts = distinct_values(labels[has_account] * stride + account[has_account])
    accounts_per_component = np.bincount(component_accounts // stride, minlength=node_count)
    violating_component = accounts_per_component > 1
    keep = np.ones(len(left), dtype=bool)
    frozen_keep = np.ones(len(frozen_left), dtype=bool)
    if not violating_component.any():
        return keep, labels

    in_scope = violating_component[labels]
    scope_nodes = np.flatnonzero(in_scope)
    # Contract nodes sharing an account key into one slot; every other node is its own slot.
    slot_key = np.where(
        account[scope_nodes] >= 0, account[scope_nodes], account.max() + 1 + scope_nodes
    )
    slot_keys, slot_of_scope = np.unique(slot_key, return_inverse=True)
    slot = np.full(node_count, -1, dtype=np.int64)
    slot[scope_nodes] = slot_of_scope
    root = len(slot_keys)
    account_slots = np.flatnonzero(slot_keys <= account.max())

    edge_scope = in_scope[left]
    frozen_scope = in_scope[frozen_left]
    edge_a, edge_b = slot[left[edge_scope]], slot[right[edge_scope]]
    frozen_a, frozen_b = slot[frozen_left[frozen_scope]], slot[frozen_right[frozen_scope]]
    # Unique weights: root links (0, 1), frozen edges (1, 2), evidence edges 2, 3, 4, ... in order.
    root_weight = (np.arange(len(account_slots)) + 1.0) / (len(account_slots) + 1.0)
    frozen_weight = 1.0 + (np.arange(len(frozen_a)) + 1.0) / (len(frozen_a) + 1.0)
    edge_weight = 2.0 + np.arange(len(edge_a), dtype=np.float64)
    a = np.concatenate([np.full(len(account_slots), root), frozen_a, edge_a])
    b = np.concatenate([account_slots, frozen_b, edge_b])
    weight = np.concatenate([root_weight, frozen_weight, edge_weight])
    low, high = np.minimum(a, b), np.maximum(a, b)
    proper = low != high
    low, high, weight = low[proper], high[proper], weight[proper]
    # Several edges may contract onto one slot pair: keep the earliest (smallest weight).
    order = np.argsort(weight, kind="stable")
    _, first = np.unique(low[order] * (root + 1) + high[order], return_index=True)
    chosen = order[first]
    size = root + 1
    graph = coo_matrix((weight[chosen], (low[chosen], high[chosen])), shape=(size, size)).tocsr()
    tree = minimum_spanning_tree(graph).tocoo()
    not_root = (tree.row != root) & (tree.col != root)
    tree_labels = component_labels(root, tree.row[not_root], tree.col[not_root])
    keep[np.flatnonzero(edge_scope)] = tree_labels[edge_a] == tree_labels[edge_b]
    frozen_keep[np.flatnonzero(frozen_scope)] = tree_labels[frozen_a] == tree_labels[frozen_b]

    # label the scope again from the kept edges inside it (numbered after every old label)
    kept_left = np.concatenate([frozen_left[frozen_scope & frozen_keep], left[edge_scope & keep]])
    kept_right = np.concatenate(
        [frozen_right[frozen_scope & frozen_keep], right[edge_scope & keep]]
    )
    local = np.full(node_count, -1, dtype=np.int64)
    local[scope_nodes] = np.arange(len(scope_nodes))
    scope_labels = component_labels(len(scope_nodes), local[kept_left], local[kept_right])
    labels = labels.copy()
    labels[scope_nodes] = labels.max() + 1 + scope_labels
    return keep, labels
