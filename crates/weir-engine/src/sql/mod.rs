//! Spark SQL compatibility for DataFusion (dialect, type names, functions).
