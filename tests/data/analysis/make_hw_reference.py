#!/usr/bin/python3
"""Reference values for the Holt-Winters tests, computed with statsmodels.

Writes hw_reference.json (next to this script unless a path is given):

  known   a smoothing run with given parameters and initial states:
          statsmodels' fitted values, SSE and forecasts, for
          analysis_hw_smooth / analysis_hw_forecast to match.
  fit     ten simulated hourly spam series (bursty, diurnal, 35 days, seeds
          1..10): the first 28 days to fit, the last 7 held out;
          ExponentialSmoothing(trend='add', seasonal='add',
          seasonal_periods=24).fit() with its defaults; its parameters, SSE
          and mean absolute percentage error on the held-out week. The C fit
          must forecast no worse on average (the bar of issue 6; one series
          alone is a coin toss between two fits of the noise).

Run under Debian's /usr/bin/python3 (python3-statsmodels). The series are
drawn from numpy's PCG64 with fixed seeds, so the file is reproducible;
tests/integration/test_analysis_statsmodels.py regenerates it and compares.
"""
import json
import sys
import warnings

import numpy as np
from statsmodels.tsa.holtwinters import ExponentialSmoothing

M = 24


def known_case():
    rng = np.random.default_rng(20110316)
    n = 24 * 10
    t = np.arange(n)
    y = 100 + 0.1 * t + 20 * np.sin(2 * np.pi * t / M) + rng.normal(0, 5, n)
    l0, b0 = 95.0, 0.2
    s0 = [float(v) for v in 20 * np.sin(2 * np.pi * np.arange(M) / M)]
    alpha, beta, gamma = 0.3, 0.05, 0.2
    model = ExponentialSmoothing(y, trend="add", seasonal="add", seasonal_periods=M,
                                 initialization_method="known", initial_level=l0,
                                 initial_trend=b0, initial_seasonal=s0)
    res = model.fit(smoothing_level=alpha, smoothing_trend=beta, smoothing_seasonal=gamma,
                    optimized=False)
    return {
        "m": M, "alpha": alpha, "beta": beta, "gamma": gamma,
        "l0": l0, "b0": b0, "s0": s0,
        "y": [float(v) for v in y],
        "fitted": [float(v) for v in res.fittedvalues],
        "sse": float(res.sse),
        "level": float(res.level[-1]), "trend": float(res.trend[-1]),
        "forecast": [float(v) for v in res.forecast(48)],
    }


def spam_series(days, seed):
    """Hourly counts: diurnal profile, a daily spike at a wandering hour,
    day-to-day level, gamma-mixed Poisson counts, a slow trend."""
    rng = np.random.default_rng(seed)
    n = days * 24
    out = np.empty(n)
    for d in range(days):
        level = np.exp(rng.normal(0, 0.08)) * (1 + 0.004 * d)
        spike = 13 + rng.integers(-1, 2)
        for h in range(24):
            rate = 1200 * (1 + 0.45 * np.cos(2 * np.pi * (h - 15) / 24)) * level
            if h == spike:
                rate *= 2.2
            rate *= rng.gamma(12, 1 / 12)
            out[d * 24 + h] = rng.poisson(rate)
    return out


def fit_case(seed):
    y = spam_series(35, seed)
    train, test = y[:-168], y[-168:]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = ExponentialSmoothing(train, trend="add", seasonal="add", seasonal_periods=M).fit()
    fc = res.forecast(168)
    mape = float(np.mean(np.abs(test - fc) / test))
    p = res.params
    return {
        "seed": seed, "m": M,
        "train": [float(v) for v in train],
        "test": [float(v) for v in test],
        "statsmodels": {
            "alpha": float(p["smoothing_level"]), "beta": float(p["smoothing_trend"]),
            "gamma": float(p["smoothing_seasonal"]), "sse": float(res.sse), "mape": mape,
        },
    }


def reference():
    return {"known": known_case(), "fit": [fit_case(seed) for seed in range(1, 11)]}


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else __file__.rsplit("/", 1)[0] + "/hw_reference.json"
    with open(path, "w") as f:
        json.dump(reference(), f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
