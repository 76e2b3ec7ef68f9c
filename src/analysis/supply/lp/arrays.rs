//! A linear program's arrays, gathered row by row into flat vectors and handed to HiGHS in one
//! call as a column-wise (CSC) matrix.
//!
//! The `highs` crate's [`RowProblem`] keeps two vectors per column and grows them entry by entry
//! (an allocation per column and more as it grows), then copies them into the column-wise
//! arrays. [`Arrays`] keeps one flat vector of entries in row order and transposes it by
//! counting (one pass to count each column's entries, one to place them), so a model costs a
//! few allocations whatever its size. The matrix HiGHS receives is the one [`RowProblem`] would
//! give for the same calls, entry for entry: each column's entries in the order of their rows,
//! and within a row in the order they were given (a unit test compares the two; the crate's
//! conversion also writes the end of the last column, which `Highs_passLp` does not read).

use std::ops::{Bound, RangeBounds};

use highs::{Col, ColProblem, Model, Row, RowProblem, Sense};

/// A linear program built column by column (bounds and cost) and row by row (entries), with
/// every column's lower bound 0.
#[derive(Default)]
pub(super) struct Arrays {
    /// Mints the [`Col`] handles the model is later changed by (no entry is ever added to it:
    /// one empty pair of vectors per column, which does not allocate).
    handles: RowProblem,
    cost: Vec<f64>,
    upper: Vec<f64>,
    row_lower: Vec<f64>,
    row_upper: Vec<f64>,
    /// Row `r`'s entries are `entries[row_start[r]..row_start[r + 1]]`.
    row_start: Vec<usize>,
    entries: Vec<(usize, f64)>,
}

fn value(b: Bound<&f64>, unbounded: f64) -> f64 {
    match b {
        Bound::Included(v) | Bound::Excluded(v) => *v,
        Bound::Unbounded => unbounded,
    }
}

impl Arrays {
    /// A column with this cost, between 0 and `upper`.
    pub(super) fn add_column(&mut self, cost: f64, upper: f64) -> Col {
        self.cost.push(cost);
        self.upper.push(upper);
        self.handles.add_column(0.0, 0.0..=0.0)
    }

    /// A row over these (column, coefficient) entries, within `bounds`.
    pub(super) fn add_row(&mut self, bounds: impl RangeBounds<f64>, entries: impl IntoIterator<Item = (Col, f64)>) {
        if self.row_start.is_empty() {
            self.row_start.push(0);
        }
        self.row_lower.push(value(bounds.start_bound(), f64::NEG_INFINITY));
        self.row_upper.push(value(bounds.end_bound(), f64::INFINITY));
        self.entries.extend(entries.into_iter().map(|(x, v)| (x.index(), v)));
        self.row_start.push(self.entries.len());
    }

    /// The column-wise problem: each column's entries in row order (a counting transpose).
    pub(super) fn into_problem(self) -> ColProblem {
        let n = self.cost.len();
        let mut start = vec![0usize; n + 1];
        for &(j, _) in &self.entries {
            start[j + 1] += 1;
        }
        for j in 0..n {
            start[j + 1] += start[j];
        }
        let mut next = start.clone();
        let mut index = vec![0usize; self.entries.len()];
        let mut value = vec![0.0f64; self.entries.len()];
        for r in 0..self.row_lower.len() {
            for &(j, v) in &self.entries[self.row_start[r]..self.row_start[r + 1]] {
                index[next[j]] = r;
                value[next[j]] = v;
                next[j] += 1;
            }
        }
        drop(next);
        let mut pb = ColProblem::default();
        let rows: Vec<Row> = self.row_lower.iter().zip(&self.row_upper).map(|(&lo, &hi)| pb.add_row(lo..=hi)).collect();
        for j in 0..n {
            let at = start[j]..start[j + 1];
            pb.add_column(self.cost[j], 0.0..=self.upper[j], at.map(|e| (rows[index[e]], value[e])));
        }
        pb
    }

    /// The model, not solved yet.
    pub(super) fn optimise(self, sense: Sense) -> Model {
        self.into_problem().optimise(sense)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same calls give HiGHS the same problem as the crate's `RowProblem`: costs, bounds and
    /// the column-wise matrix, entry for entry (a column twice in a row included).
    #[test]
    fn the_arrays_equal_the_crates_row_problem() {
        let mut a = Arrays::default();
        let mut b = RowProblem::default();
        let costs = [1.5, -2.0, 0.0, 7.25];
        let uppers = [f64::INFINITY, 3.0, 0.5, 10.0];
        let mut xs = Vec::new();
        for (c, u) in costs.iter().zip(&uppers) {
            let x = a.add_column(*c, *u);
            let y = b.add_column(*c, 0.0..=*u);
            assert_eq!(x, y);
            xs.push(x);
        }
        type Spec = (f64, f64, Vec<(usize, f64)>);
        let rows: Vec<Spec> = vec![
            (f64::NEG_INFINITY, 4.0, vec![(2, 1.0), (0, -3.0), (2, 0.5)]),
            (-1.0, -1.0, vec![(3, 2.0), (1, 1.0)]),
            (0.0, f64::INFINITY, vec![]),
            (2.0, 2.0, vec![(0, 1.0), (3, -1.0), (1, 4.0)]),
        ];
        for (lo, hi, e) in &rows {
            let entries: Vec<(Col, f64)> = e.iter().map(|&(j, v)| (xs[j], v)).collect();
            a.add_row(*lo..=*hi, entries.iter().copied());
            b.add_row(*lo..=*hi, entries);
        }
        // `Highs_passLp` reads one start per column; the crate's conversion also writes where
        // the last column ends (8, the entries), which HiGHS does not read.
        let ours = format!("{:?}", a.into_problem());
        let theirs = format!("{:?}", ColProblem::from(b));
        assert_eq!(ours.replacen("astart: [0, 2, 4, 6]", "astart: [0, 2, 4, 6, 8]", 1), theirs);
    }
}
