//! Limited-memory BFGS (10 correction pairs, as scipy's L-BFGS-B that
//! scikit-learn calls) with a line search that satisfies the strong Wolfe
//! conditions. It stops when the largest gradient component is at most
//! `gtol`, when the objective no longer decreases by more than a relative
//! `ftol`, or after `max_iter` iterations.

const MEMORY: usize = 10;

/// What the minimisation ended with.
pub(crate) struct Minimum {
    pub x: Vec<f64>,
    pub iterations: usize,
}

/// Minimises `f`, which returns the value and writes the gradient.
pub(crate) fn minimize(
    mut x: Vec<f64>,
    max_iter: usize,
    gtol: f64,
    f: &mut dyn FnMut(&[f64], &mut [f64]) -> f64,
) -> Minimum {
    let n = x.len();
    let ftol = 64.0 * f64::EPSILON;
    let mut g = vec![0.0; n];
    let mut fx = f(&x, &mut g);
    let mut s_hist: Vec<Vec<f64>> = Vec::new();
    let mut y_hist: Vec<Vec<f64>> = Vec::new();
    let mut rho: Vec<f64> = Vec::new();
    let mut iterations = 0;
    while iterations < max_iter {
        crate::interrupt::point();
        if max_abs(&g) <= gtol {
            break;
        }
        // Two-loop recursion: d = -H g.
        let mut q = g.clone();
        let m = s_hist.len();
        let mut alpha = vec![0.0; m];
        for i in (0..m).rev() {
            alpha[i] = rho[i] * dot(&s_hist[i], &q);
            axpy(-alpha[i], &y_hist[i], &mut q);
        }
        let gamma = if m > 0 {
            dot(&s_hist[m - 1], &y_hist[m - 1]) / dot(&y_hist[m - 1], &y_hist[m - 1])
        } else {
            1.0 / max_abs(&g).max(1.0)
        };
        q.iter_mut().for_each(|v| *v *= gamma);
        for i in 0..m {
            let beta = rho[i] * dot(&y_hist[i], &q);
            axpy(alpha[i] - beta, &s_hist[i], &mut q);
        }
        let mut d: Vec<f64> = q.iter().map(|v| -v).collect();
        let mut slope = dot(&g, &d);
        if slope >= 0.0 {
            // Not a descent direction (numerical trouble): restart.
            s_hist.clear();
            y_hist.clear();
            rho.clear();
            d = g.iter().map(|v| -v).collect();
            slope = dot(&g, &d);
        }
        let Some((step, f_new, g_new, x_new)) = line_search(&x, fx, &g, &d, slope, f) else {
            break;
        };
        let _ = step;
        iterations += 1;
        let s: Vec<f64> = x_new.iter().zip(&x).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = g_new.iter().zip(&g).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &y);
        let decrease = fx - f_new;
        x = x_new;
        g = g_new;
        let old = fx;
        fx = f_new;
        if sy > 1e-12 * dot(&y, &y).sqrt() * dot(&s, &s).sqrt() {
            if s_hist.len() == MEMORY {
                s_hist.remove(0);
                y_hist.remove(0);
                rho.remove(0);
            }
            s_hist.push(s);
            y_hist.push(y);
            rho.push(1.0 / sy);
        }
        if decrease <= ftol * old.abs().max(fx.abs()).max(1.0) {
            break;
        }
    }
    Minimum { x, iterations }
}

type Point = (f64, f64, Vec<f64>, Vec<f64>);

/// A step along `d` with sufficient decrease and curvature (strong Wolfe,
/// c1 = 1e-4, c2 = 0.9); None when no step decreases the objective.
fn line_search(
    x: &[f64],
    f0: f64,
    _g0: &[f64],
    d: &[f64],
    slope0: f64,
    f: &mut dyn FnMut(&[f64], &mut [f64]) -> f64,
) -> Option<Point> {
    let (c1, c2) = (1e-4, 0.9);
    let mut eval = |t: f64| -> Point {
        let xt: Vec<f64> = x.iter().zip(d).map(|(a, b)| a + t * b).collect();
        let mut gt = vec![0.0; x.len()];
        let ft = f(&xt, &mut gt);
        (t, ft, gt, xt)
    };
    let slope = |p: &Point| dot(&p.2, d);
    let (mut lo_t, mut lo_f, mut lo_slope) = (0.0, f0, slope0);
    let mut t = 1.0;
    let mut best: Option<Point> = None;
    for _ in 0..50 {
        let p = eval(t);
        if !p.1.is_finite() || p.1 > f0 + c1 * t * slope0 || (p.1 >= lo_f && lo_t > 0.0) {
            // Zoom between lo and t.
            let mut hi_t = t;
            for _ in 0..50 {
                let mid = 0.5 * (lo_t + hi_t);
                let q = eval(mid);
                if !q.1.is_finite() || q.1 > f0 + c1 * mid * slope0 || q.1 >= lo_f {
                    hi_t = mid;
                } else {
                    let s = slope(&q);
                    if s.abs() <= -c2 * slope0 {
                        return Some(q);
                    }
                    if s * (hi_t - lo_t) >= 0.0 {
                        hi_t = lo_t;
                    }
                    lo_t = mid;
                    lo_f = q.1;
                    best = Some(q);
                }
                if (hi_t - lo_t).abs() < 1e-16 {
                    break;
                }
            }
            return best.filter(|b| b.1 < f0);
        }
        let s = slope(&p);
        if s.abs() <= -c2 * slope0 {
            return Some(p);
        }
        if s >= 0.0 {
            return if p.1 < f0 { Some(p) } else { None };
        }
        lo_t = t;
        lo_f = p.1;
        lo_slope = s;
        best = Some(p);
        t *= 2.0;
    }
    let _ = lo_slope;
    best.filter(|b| b.1 < f0)
}

pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn axpy(a: f64, x: &[f64], y: &mut [f64]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_minimum_of_rosenbrock() {
        let mut f = |x: &[f64], g: &mut [f64]| {
            let (a, b) = (x[0], x[1]);
            g[0] = -2.0 * (1.0 - a) - 400.0 * a * (b - a * a);
            g[1] = 200.0 * (b - a * a);
            (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2)
        };
        let m = minimize(vec![-1.2, 1.0], 500, 1e-8, &mut f);
        assert!(
            (m.x[0] - 1.0).abs() < 1e-5 && (m.x[1] - 1.0).abs() < 1e-5,
            "{:?}",
            m.x
        );
    }
}
