//! Grouping voice prints by speaker: agglomerative clustering with average
//! linkage on cosine similarity. Every print starts alone; the two most
//! alike groups merge until no two are alike enough (`threshold`), or,
//! when the number of speakers is known, until that many are left.

/// Cosine similarity of two unit vectors.
pub fn similarity(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(x, y)| f64::from(x * y)).sum()
}

/// `v` scaled to unit length (left as it is when it is all zeros).
pub fn unit(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

/// The group of each of `prints` (unit vectors), numbered from 0 in order
/// of first member. With `count`, exactly that many groups (fewer only
/// when there are fewer prints); otherwise groups merge while their
/// average similarity is at least `threshold`.
pub fn cluster(prints: &[Vec<f32>], threshold: f64, count: Option<usize>) -> Vec<usize> {
    let n = prints.len();
    // Average similarity between groups, kept up to date as they merge
    // (Lance–Williams): the matrix of live groups, by their first print.
    let mut sim: Vec<Vec<f64>> = (0..n)
        .map(|i| (0..n).map(|j| similarity(&prints[i], &prints[j])).collect())
        .collect();
    let mut size = vec![1usize; n];
    let mut group: Vec<usize> = (0..n).collect();
    let mut live: Vec<usize> = (0..n).collect();
    let floor = count.unwrap_or(1).max(1);
    while live.len() > floor {
        let mut best = (f64::NEG_INFINITY, 0, 0);
        for (x, &i) in live.iter().enumerate() {
            for &j in &live[x + 1..] {
                if sim[i][j] > best.0 {
                    best = (sim[i][j], i, j);
                }
            }
        }
        let (s, i, j) = best;
        if count.is_none() && s < threshold {
            break;
        }
        // j joins i.
        for &k in &live {
            if k != i && k != j {
                let merged = (size[i] as f64 * sim[k][i] + size[j] as f64 * sim[k][j])
                    / (size[i] + size[j]) as f64;
                sim[k][i] = merged;
                sim[i][k] = merged;
            }
        }
        size[i] += size[j];
        live.retain(|&k| k != j);
        for g in group.iter_mut().filter(|g| **g == j) {
            *g = i;
        }
    }
    // Numbered in order of first member.
    let mut order: Vec<usize> = Vec::new();
    group
        .iter()
        .map(|g| match order.iter().position(|o| o == g) {
            Some(p) => p,
            None => {
                order.push(*g);
                order.len() - 1
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn near(axis: usize, wobble: f32) -> Vec<f32> {
        let mut v = vec![wobble; 4];
        v[axis] = 1.0;
        unit(v)
    }

    #[test]
    fn prints_group_by_likeness_or_into_the_count_asked() {
        let prints = [
            near(0, 0.1),
            near(1, 0.1),
            near(0, 0.2),
            near(1, 0.05),
            near(2, 0.1),
        ];
        assert_eq!(cluster(&prints, 0.8, None), [0, 1, 0, 1, 2]);
        assert_eq!(cluster(&prints, 0.8, Some(5)), [0, 1, 2, 3, 4]);
        assert_eq!(cluster(&prints, 0.8, Some(1)), [0; 5]);
        let two = cluster(&prints, 0.8, Some(2));
        assert_eq!(two[0], two[2]);
        assert_eq!(two[1], two[3]);
        assert_ne!(two[0], two[1]);
        assert!(cluster(&[], 0.5, None).is_empty());
    }
}
