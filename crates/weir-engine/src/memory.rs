//! The memory a job may use: the limit (`WEIR_MEMORY_LIMIT` / `--memory-limit`, else a share of
//! the machine's), and the DataFusion runtime that enforces it, spilling to local disk.

use std::sync::Arc;

use datafusion::common::resources_datafusion_err;
use datafusion::error::Result as DfResult;
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::{
    FairSpillPool, MemoryConsumer, MemoryLimit, MemoryPool, MemoryReservation, TrackConsumersPool,
};
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};

/// The memory a job may use for its operators when none is given: an eighth of the machine's
/// (its cgroup's limit when lower than the physical memory), at least 256 MiB. An eighth leaves
/// room for what is not counted (scan and write buffers, roughly as much again at peak) and for
/// the other jobs `weir serve` runs beside it.
pub fn default_limit() -> u64 {
    (machine_memory() / 8).max(256 << 20)
}

/// The machine's memory in bytes: `MemTotal`, or the cgroup's `memory.max` when lower.
fn machine_memory() -> u64 {
    let total = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            let line = text.lines().find(|l| l.starts_with("MemTotal:"))?.to_string();
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map(|kib| kib * 1024)
        .unwrap_or(4 << 30);
    let cgroup = ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok()?.trim().parse::<u64>().ok());
    cgroup.map_or(total, |limit| limit.min(total))
}

/// Parses a memory size: bytes, or a number with a unit (`512m`, `2g`, `1.5GiB`, `800MB`; k, m,
/// g and t are powers of 1024), or a share of the machine's memory (`25%`).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let bad = || {
        format!(
            "invalid memory size '{text}': give bytes, a number with a unit (512m, 2g, 1.5GiB) or a share of the machine's memory (25%)"
        )
    };
    let bytes = if let Some(percent) = t.strip_suffix('%') {
        let p: f64 = percent.trim().parse().map_err(|_| bad())?;
        if !(p > 0.0 && p <= 100.0) {
            return Err(bad());
        }
        machine_memory() as f64 * p / 100.0
    } else {
        let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
        let (number, unit) = t.split_at(split);
        let n: f64 = number.parse().map_err(|_| bad())?;
        let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "k" | "kb" | "kib" => 1 << 10,
            "m" | "mb" | "mib" => 1 << 20,
            "g" | "gb" | "gib" => 1 << 30,
            "t" | "tb" | "tib" => 1 << 40,
            _ => return Err(bad()),
        };
        n * scale as f64
    };
    if bytes < (16 << 20) as f64 {
        return Err(format!("memory size '{text}' is below the minimum of 16 MiB"));
    }
    Ok(bytes as u64)
}

/// The runtime a session's plans execute in: a memory pool of `limit` bytes that operators able
/// to spill (sorts, aggregations, repartitions) share fairly, each holding at most an eighth of it
/// ([`SpillCap`]), spilling LZ4-compressed temporary files to the OS temporary directory
/// (`TMPDIR`) rather than growing past it. Errors name the largest consumers.
pub fn runtime_env(limit: u64) -> Arc<RuntimeEnv> {
    let limit = limit as usize;
    let pool = SpillCap {
        inner: TrackConsumersPool::new(FairSpillPool::new(limit), std::num::NonZeroUsize::MIN.saturating_add(4)),
        cap: limit / 8,
    };
    let built = RuntimeEnvBuilder::new()
        .with_memory_pool(Arc::new(pool))
        .with_disk_manager_builder(DiskManagerBuilder::default().with_mode(DiskManagerMode::OsTmpDirectory))
        .build_arc();
    // Building only fails creating the disk manager's directory; without it, the plain runtime.
    built.unwrap_or_default()
}

/// A pool in which no consumer that can spill, and no merge of a sort's runs, holds more than
/// `cap` bytes.
///
/// DataFusion's fair pool divides memory among the spilling consumers registered *so far*: the
/// first sorts of a plan (a sort-merge join's left side) may take the whole pool, finish without
/// spilling, and then hold their rows, no longer spillable, while later sorts find nothing left.
/// And a sort's merge of its spilled runs reads as many runs at once as memory allows, so the
/// first merges starve the others. With a cap, a sort larger than an eighth of the pool spills
/// early, and its merge reads fewer runs per pass (merging in several passes when needed).
#[derive(Debug)]
struct SpillCap<P> {
    inner: P,
    cap: usize,
}

impl<P: MemoryPool> std::fmt::Display for SpillCap<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (at most {} bytes per spilling operator)", self.inner, self.cap)
    }
}

impl<P: MemoryPool> MemoryPool for SpillCap<P> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn register(&self, consumer: &MemoryConsumer) {
        self.inner.register(consumer)
    }

    fn unregister(&self, consumer: &MemoryConsumer) {
        self.inner.unregister(consumer)
    }

    fn grow(&self, reservation: &MemoryReservation, additional: usize) {
        self.inner.grow(reservation, additional)
    }

    fn shrink(&self, reservation: &MemoryReservation, shrink: usize) {
        self.inner.shrink(reservation, shrink)
    }

    fn try_grow(&self, reservation: &MemoryReservation, additional: usize) -> DfResult<()> {
        let consumer = reservation.consumer();
        let capped = consumer.can_spill() || consumer.name().starts_with("ExternalSorterMerge");
        if capped && reservation.size() + additional > self.cap {
            return Err(resources_datafusion_err!(
                "Failed to allocate additional {additional} bytes for {}: it holds {} bytes and a spilling operator may hold at most {} (an eighth of the memory limit)",
                consumer.name(),
                reservation.size(),
                self.cap
            ));
        }
        self.inner.try_grow(reservation, additional)
    }

    fn reserved(&self) -> usize {
        self.inner.reserved()
    }

    fn memory_limit(&self) -> MemoryLimit {
        self.inner.memory_limit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_sizes_take_units_and_shares() {
        assert_eq!(parse_size("536870912"), Ok(512 << 20));
        assert_eq!(parse_size("512m"), Ok(512 << 20));
        assert_eq!(parse_size("2g"), Ok(2 << 30));
        assert_eq!(parse_size(" 1.5GiB "), Ok(3 << 29));
        assert_eq!(parse_size("800MB"), Ok(800 << 20));
        let quarter = parse_size("25%").expect("a share");
        assert_eq!(quarter, machine_memory() / 4);
        for bad in ["", "lots", "2x", "-1g", "0%", "150%", "g"] {
            assert!(parse_size(bad).is_err_and(|e| e.contains("invalid memory size")), "{bad}");
        }
        assert!(parse_size("1m").is_err_and(|e| e.contains("minimum of 16 MiB")));
        assert!(default_limit() >= 256 << 20);
    }
}
