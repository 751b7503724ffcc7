//! Uniform sampling in boxes and unions of boxes, seeded and platform-independent.
//!
//! The box sampler is the one the shared ACAS Xu reference data was drawn with: sample `k`,
//! dimension `d` uses the generator's call number `k * dims + d`; `x = lower + u * width` in
//! `f64`, then rounded to `f32`. Reproducing it exactly lets tests compare violation counts
//! with `reference/violations.csv` sample for sample.

use crate::property::{InputBox, Property};
use crate::rng::SplitMix64;
use crate::tensor::{Array2, BatchGrow, BatchRows};

/// `count` points drawn uniformly from `input_box`, one per row.
pub fn sample_box(rng: &mut SplitMix64, input_box: &InputBox, count: usize) -> Array2<f32> {
    let dims = input_box.dims();
    let mut data = Vec::with_capacity(count * dims);
    for _ in 0..count {
        for d in 0..dims {
            let (l, u) = (input_box.lower[d], input_box.upper[d]);
            let x = l + rng.next_f64() * (u - l);
            data.push(x as f32);
        }
    }
    crate::tensor::from_vec(count, dims, data).expect("count * dims numbers")
}

/// `count` points drawn uniformly from a union of boxes: each point picks a box with
/// probability proportional to its [`InputBox::sampling_weight`], then a point in it.
/// Overlapping boxes make their intersection proportionally more likely, which is what
/// "uniform over the union" means only when the boxes are disjoint (as in property 6).
pub fn sample_union(rng: &mut SplitMix64, boxes: &[InputBox], count: usize) -> Array2<f32> {
    match boxes {
        [] => Array2::zeros((0, 0)),
        [single] => sample_box(rng, single, count),
        _ => {
            let weights: Vec<f64> = boxes.iter().map(InputBox::sampling_weight).collect();
            let total: f64 = weights.iter().sum();
            let dims = boxes[0].dims();
            let mut out = Array2::zeros((0, dims));
            for _ in 0..count {
                let mut pick = rng.next_f64() * total;
                let mut chosen = boxes.len() - 1;
                for (i, w) in weights.iter().enumerate() {
                    if pick < *w {
                        chosen = i;
                        break;
                    }
                    pick -= w;
                }
                let point = sample_box(rng, &boxes[chosen], 1);
                out.push_slice(point.row_slice(0)).expect("same dims");
            }
            out
        }
    }
}

/// `count` points drawn uniformly from a property's precondition.
pub fn sample_property(rng: &mut SplitMix64, property: &Property, count: usize) -> Array2<f32> {
    sample_union(rng, &property.input_boxes, count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_stay_inside_and_depend_only_on_the_seed() {
        let b = InputBox::new(vec![-1.0, 0.0, 2.0], vec![1.0, 0.0, 3.0]).unwrap();
        let a = sample_box(&mut SplitMix64::new(4), &b, 500);
        let again = sample_box(&mut SplitMix64::new(4), &b, 500);
        assert_eq!(a, again);
        assert!(a.row_slices().all(|x| b.contains(x)));
        let other = sample_box(&mut SplitMix64::new(5), &b, 500);
        assert_ne!(a, other);
    }

    #[test]
    fn union_sampling_follows_box_volumes() {
        let small = InputBox::new(vec![0.0, 0.0], vec![1.0, 1.0]).unwrap();
        let large = InputBox::new(vec![10.0, 0.0], vec![13.0, 1.0]).unwrap();
        let pts = sample_union(
            &mut SplitMix64::new(1),
            &[small.clone(), large.clone()],
            8000,
        );
        let in_small = pts.row_slices().filter(|x| small.contains(x)).count();
        let in_large = pts.row_slices().filter(|x| large.contains(x)).count();
        assert_eq!(in_small + in_large, 8000);
        // Expected 2000 in the small box; 5 standard deviations is about 194.
        assert!((in_small as i64 - 2000).abs() < 200, "{in_small}");
    }
}
