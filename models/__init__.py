"""Pure ML: scikit-learn style estimators and formula functions. No I/O, no environment, no logging setup."""
