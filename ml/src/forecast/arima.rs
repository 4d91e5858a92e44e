//! PyCaret's default `arima`: ARIMA(1,0,0) with an intercept, and with
//! seasonal order (0,1,0,sp) when the series has a season: an AR(1) with a
//! mean, on the series or on its seasonal differences, fitted by exact
//! Gaussian maximum likelihood (the mean in closed form for each φ, φ by a
//! golden-section search over the stationary region).

use crate::error::{Result, invalid};

pub(super) fn forecast(y: &[f64], fh: usize, sp: usize) -> Result<Vec<f64>> {
    let seasonal = sp > 1 && y.len() >= sp + 3;
    let z: Vec<f64> = if seasonal {
        (sp..y.len()).map(|t| y[t] - y[t - sp]).collect()
    } else {
        y.to_vec()
    };
    if z.len() < 3 {
        return Err(invalid(format!(
            "ARIMA needs at least {} points; the fold has {}",
            if seasonal { sp + 3 } else { 3 },
            y.len()
        )));
    }
    let (phi, mu) = fit_ar1(&z);
    let last = z[z.len() - 1] - mu;
    let zf: Vec<f64> = (1..=fh).map(|h| mu + phi.powi(h as i32) * last).collect();
    if !seasonal {
        return Ok(zf);
    }
    // Undo the seasonal difference: y[t] = z[t] + y[t - sp].
    let mut path = y.to_vec();
    for d in zf {
        let prev = path[path.len() - sp];
        path.push(d + prev);
    }
    Ok(path[y.len()..].to_vec())
}

/// Exact AR(1) maximum likelihood: (φ, μ).
fn fit_ar1(z: &[f64]) -> (f64, f64) {
    let n = z.len() as f64;
    let mean_for = |phi: f64| -> f64 {
        let w0 = 1.0 - phi * phi;
        let rest: f64 = z.windows(2).map(|w| w[1] - phi * w[0]).sum();
        (w0 * z[0] + (1.0 - phi) * rest) / (w0 + (n - 1.0) * (1.0 - phi).powi(2))
    };
    let loglik = |phi: f64| -> f64 {
        let mu = mean_for(phi);
        let w0 = 1.0 - phi * phi;
        let s = w0 * (z[0] - mu).powi(2)
            + z.windows(2)
                .map(|w| ((w[1] - mu) - phi * (w[0] - mu)).powi(2))
                .sum::<f64>();
        if s <= 0.0 {
            return f64::INFINITY;
        }
        -0.5 * n * (s / n).ln() + 0.5 * w0.ln()
    };
    // Golden-section search for the maximum over (-1, 1).
    let (mut a, mut b) = (-0.999, 0.999);
    let g = (5f64.sqrt() - 1.0) / 2.0;
    let mut c = b - g * (b - a);
    let mut d = a + g * (b - a);
    let (mut fc, mut fd) = (loglik(c), loglik(d));
    for _ in 0..200 {
        if (b - a).abs() < 1e-10 {
            break;
        }
        if fc > fd {
            b = d;
            d = c;
            fd = fc;
            c = b - g * (b - a);
            fc = loglik(c);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + g * (b - a);
            fd = loglik(d);
        }
    }
    let phi = (a + b) / 2.0;
    (phi, mean_for(phi))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ar1_process_is_recovered() {
        // z_t = 2 + 0.6 (z_{t-1} - 2) + e_t, e from a fixed sequence.
        let mut z = vec![2.0];
        let mut state = 12345u64;
        for _ in 0..2000 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let e = ((state >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 2.0;
            let prev = *z.last().unwrap();
            z.push(2.0 + 0.6 * (prev - 2.0) + e);
        }
        let (phi, mu) = fit_ar1(&z);
        assert!((phi - 0.6).abs() < 0.05, "{phi}");
        assert!((mu - 2.0).abs() < 0.1, "{mu}");
        // A seasonal series: the forecast repeats last season's shape.
        let y: Vec<f64> = (0..48)
            .map(|t| 10.0 + [1.0, 4.0, -2.0, 0.5][t % 4] + t as f64)
            .collect();
        let f = forecast(&y, 4, 4).unwrap();
        for (h, v) in f.iter().enumerate() {
            let want = 10.0 + [1.0, 4.0, -2.0, 0.5][(48 + h) % 4] + (48 + h) as f64;
            assert!((v - want).abs() < 1e-6, "{f:?}");
        }
    }
}
