//! Depth-first search over a graph given as each node's children (the bill of materials): the
//! one walk that both orders the parts for netting and finds a loop for a message.

/// The nodes in topological order (every node before its children), or, when the graph has a
/// loop, the loop as the lines that make it: `(node, index into its children)`, starting where
/// the walk first entered the loop. Children are visited in the order given, so the same graph
/// gives the same order and the same loop.
pub fn topological_order(children: &[Vec<usize>]) -> Result<Vec<usize>, Vec<(usize, usize)>> {
    let mut state = vec![0u8; children.len()]; // 0 new, 1 on the stack, 2 done
    let mut post = Vec::with_capacity(children.len());
    for start in 0..children.len() {
        if state[start] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        state[start] = 1;
        while let Some(&mut (v, ref mut next)) = stack.last_mut() {
            if *next < children[v].len() {
                let w = children[v][*next];
                *next += 1;
                match state[w] {
                    0 => {
                        state[w] = 1;
                        stack.push((w, 0));
                    }
                    1 => {
                        let from = stack.iter().position(|&(x, _)| x == w).unwrap_or(0);
                        // Each node's `next` is one past the line it followed.
                        return Err(stack[from..].iter().map(|&(x, n)| (x, n - 1)).collect());
                    }
                    _ => {}
                }
            } else {
                state[v] = 2;
                post.push(v);
                stack.pop();
            }
        }
    }
    post.reverse();
    Ok(post)
}

#[cfg(test)]
mod tests {
    use super::topological_order;

    /// 0 -> 1 -> 3, 0 -> 2 -> 3: 0 first, 3 last, 1 and 2 in between.
    #[test]
    fn parents_come_before_children() {
        let order = topological_order(&[vec![1, 2], vec![3], vec![3], vec![]]).unwrap();
        let at = |n: usize| order.iter().position(|&x| x == n).unwrap();
        assert_eq!(order.len(), 4);
        assert!(at(0) < at(1) && at(0) < at(2) && at(1) < at(3) && at(2) < at(3), "{order:?}");
    }

    /// 0 -> 1 -> 2 -> 1: the loop is 1's line 0 then 2's line 1 (2's line 0 goes to 3).
    #[test]
    fn a_loop_is_the_lines_that_close_it() {
        let lines = topological_order(&[vec![1], vec![2], vec![3, 1], vec![]]).unwrap_err();
        assert_eq!(lines, vec![(1, 0), (2, 1)]);
    }
}
