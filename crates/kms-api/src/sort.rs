//! One sort for the whole WebAssembly client. Every element type and comparison given to the
//! standard library's sort is a separate copy of it in the wasm module (a few kilobytes
//! each); [`sort_with`] sorts indices instead, so all its callers share a single copy. The
//! lists sorted this way are short (signed headers, encryption context keys, encrypted data
//! keys, item attributes), so the extra indirection costs nothing that matters.

use std::cmp::Ordering;

/// Sorts `items` by `cmp`, stably.
pub fn sort_with<T>(items: &mut [T], cmp: impl Fn(&T, &T) -> Ordering) {
    let mut order = sorted_indices(items.len(), &|i, j| cmp(&items[i], &items[j]));
    // Only the comparison and the swap depend on `T`: each instance stays small.
    permute(&mut order, &mut |i, j| items.swap(i, j));
}

/// Rearranges a list through `swap` so that position `i` holds what was at `order[i]`,
/// following each cycle of the permutation `order` (which is used up: every entry is
/// overwritten with `usize::MAX` as its position is settled).
fn permute(order: &mut [usize], swap: &mut dyn FnMut(usize, usize)) {
    for start in 0..order.len() {
        let mut position = start;
        while order[position] != usize::MAX {
            let from = std::mem::replace(&mut order[position], usize::MAX);
            if from == start {
                // The cycle is closed: `position` already holds what was at `start`.
                break;
            }
            // `from` still holds its original element; after the swap, it holds the
            // cycle's first element, which the next step moves on.
            swap(position, from);
            position = from;
        }
    }
}

/// The indices `0..len` in the stable order of `cmp`: a bottom-up merge sort written here
/// (about 0.3 KB of wasm) instead of an instance of the standard library's sort (about 5 KB).
/// O(n log n) comparisons, one scratch buffer.
fn sorted_indices(len: usize, cmp: &dyn Fn(usize, usize) -> Ordering) -> Vec<usize> {
    let mut order: Vec<usize> = (0..len).collect();
    let mut scratch: Vec<usize> = Vec::with_capacity(len);
    let mut width = 1;
    while width < len {
        scratch.clear();
        for start in (0..len).step_by(2 * width) {
            let middle = (start + width).min(len);
            let end = (start + 2 * width).min(len);
            let (mut left, mut right) = (start, middle);
            while left < middle && right < end {
                // Taking from the left on ties keeps equal elements in their order.
                if cmp(order[right], order[left]) == Ordering::Less {
                    scratch.push(order[right]);
                    right += 1;
                } else {
                    scratch.push(order[left]);
                    left += 1;
                }
            }
            scratch.extend_from_slice(&order[left..middle]);
            scratch.extend_from_slice(&order[right..end]);
        }
        std::mem::swap(&mut order, &mut scratch);
        width *= 2;
    }
    order
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn sort_with_is_a_stable_sort() {
        let mut pairs = vec![(3, 'a'), (1, 'b'), (3, 'c'), (2, 'd'), (1, 'e'), (0, 'f')];
        let mut expected = pairs.clone();
        expected.sort_by_key(|p| p.0);
        sort_with(&mut pairs, |a, b| a.0.cmp(&b.0));
        assert_eq!(pairs, expected);
        let mut empty: Vec<u8> = Vec::new();
        sort_with(&mut empty, Ord::cmp);
        assert!(empty.is_empty());
    }

    #[test]
    fn permute_applies_every_cycle() {
        // Cycles (0 2 4), (1 3) and the fixed point 5.
        let mut items = vec!['a', 'b', 'c', 'd', 'e', 'f'];
        let mut order = vec![2, 3, 4, 1, 0, 5];
        let expected: Vec<char> = order.iter().map(|&i| items[i]).collect();
        permute(&mut order, &mut |i, j| items.swap(i, j));
        assert_eq!(items, expected);
    }

    proptest! {
        #[test]
        fn permute_matches_indexing(order in Just((0..40usize).collect::<Vec<_>>()).prop_shuffle()) {
            let original: Vec<usize> = (100..140).collect();
            let expected: Vec<usize> = order.iter().map(|&i| original[i]).collect();
            let mut items = original;
            let mut order = order;
            permute(&mut order, &mut |i, j| items.swap(i, j));
            prop_assert_eq!(items, expected);
        }

        #[test]
        fn sort_with_sorts_as_the_standard_sort_does(mut items: Vec<(u8, u16)>) {
            let mut expected = items.clone();
            expected.sort_by_key(|p| p.0);
            sort_with(&mut items, |a, b| a.0.cmp(&b.0));
            prop_assert_eq!(items, expected);
        }
    }
}
