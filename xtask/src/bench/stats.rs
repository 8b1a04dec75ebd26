//! Medians and spreads of small samples (a few repetitions) and percentiles of large ones.

/// A sample summarised: its median, extremes and quartiles (linear interpolation between ranks).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread {
    pub n: usize,
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub q1: f64,
    pub q3: f64,
}

/// None for an empty sample; NaNs are left out.
pub fn spread(samples: &[f64]) -> Option<Spread> {
    let mut sorted: Vec<f64> = samples.iter().copied().filter(|x| !x.is_nan()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    Some(Spread {
        n: sorted.len(),
        median: quantile(&sorted, 0.5),
        min: sorted[0],
        max: sorted[sorted.len() - 1],
        q1: quantile(&sorted, 0.25),
        q3: quantile(&sorted, 0.75),
    })
}

/// The q-quantile of a sorted, non-empty sample, interpolating between neighbouring ranks.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    let position = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let below = position.floor() as usize;
    let above = position.ceil() as usize;
    let weight = position - below as f64;
    sorted[below] * (1.0 - weight) + sorted[above] * weight
}

/// The nearest-rank q-percentile of integer values (sorts them); None when empty.
pub fn percentile(values: &mut [i64], q: f64) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let rank = (q.clamp(0.0, 1.0) * values.len() as f64).ceil() as usize;
    Some(values[rank.clamp(1, values.len()) - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_and_even_samples() {
        let odd = spread(&[5.0, 1.0, 3.0]).expect("sample");
        assert_eq!((odd.median, odd.min, odd.max), (3.0, 1.0, 5.0));
        assert_eq!((odd.q1, odd.q3), (2.0, 4.0));
        let even = spread(&[4.0, 1.0, 2.0, 3.0]).expect("sample");
        assert_eq!(even.median, 2.5);
        assert_eq!(even.n, 4);
        assert!(spread(&[]).is_none());
        assert_eq!(spread(&[f64::NAN, 7.0]).map(|s| s.median), Some(7.0));
    }

    #[test]
    fn nearest_rank_percentiles() {
        let mut values: Vec<i64> = (1..=100).rev().collect();
        assert_eq!(percentile(&mut values, 0.5), Some(50));
        assert_eq!(percentile(&mut values, 0.99), Some(99));
        assert_eq!(percentile(&mut values, 1.0), Some(100));
        assert_eq!(percentile(&mut [42], 0.99), Some(42));
        assert_eq!(percentile(&mut [], 0.5), None);
    }
}
