//! How long each step of a registration batch took, for the writer's log.

use std::time::{Duration, Instant};

pub(super) struct Steps {
    started: Instant,
    last: Instant,
    taken: Vec<(&'static str, Duration)>,
}

impl Steps {
    pub fn start() -> Self {
        let now = Instant::now();
        Self { started: now, last: now, taken: Vec::with_capacity(7) }
    }

    pub fn mark(&mut self, step: &'static str) {
        let now = Instant::now();
        self.taken.push((step, now - self.last));
        self.last = now;
    }

    pub fn total(&self) -> Duration {
        self.last - self.started
    }
}

impl std::fmt::Display for Steps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (step, took)) in self.taken.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            write!(f, "{sep}{step} {:.1} ms", took.as_secs_f64() * 1000.0)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_reports_its_steps_in_order() {
        let mut steps = Steps::start();
        steps.mark("begin");
        std::thread::sleep(Duration::from_millis(2));
        steps.mark("commit");
        let text = steps.to_string();
        assert!(text.starts_with("begin ") && text.contains(" ms, commit ") && text.ends_with(" ms"), "{text}");
        assert!(steps.total() >= Duration::from_millis(2));
        assert_eq!(steps.taken.iter().map(|(_, took)| *took).sum::<Duration>(), steps.total());
    }
}
