//! Benchmark jobs on a few threads: each thread takes the next job as it finishes one, and
//! the results come back in the jobs' order whatever order they finished in.

use std::sync::Mutex;

/// Runs `work` on every job on `threads` threads (at least one), starting them in order;
/// `finished(done, total, job, result)` is called as each one ends (for progress lines).
/// The results are in the jobs' order.
pub(crate) fn run_in_order<J: Sync, R: Send>(
    jobs: &[J],
    threads: usize,
    work: impl Fn(&J) -> R + Sync,
    finished: impl Fn(usize, usize, &J, &R) + Sync,
) -> Vec<R> {
    let next = Mutex::new(0usize);
    let results: Mutex<Vec<(usize, R)>> = Mutex::new(Vec::with_capacity(jobs.len()));
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            scope.spawn(|| loop {
                let index = {
                    let mut next = next.lock().expect("job queue");
                    let index = *next;
                    *next += 1;
                    index
                };
                let Some(job) = jobs.get(index) else {
                    break;
                };
                let result = work(job);
                let mut results = results.lock().expect("results");
                finished(results.len() + 1, jobs.len(), job, &result);
                results.push((index, result));
            });
        }
    });
    let mut results = results.into_inner().expect("results");
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_the_jobs_order_and_every_job_is_reported_once() {
        let jobs: Vec<u64> = (0..40).collect();
        let reported = Mutex::new(Vec::new());
        let out = run_in_order(
            &jobs,
            3,
            |&j| {
                // Later jobs finish first.
                std::thread::sleep(std::time::Duration::from_millis(40 - j));
                j * j
            },
            |done, total, &job, &result| {
                assert_eq!((total, result), (40, job * job));
                reported.lock().unwrap().push(done);
            },
        );
        assert_eq!(out, jobs.iter().map(|j| j * j).collect::<Vec<_>>());
        let mut reported = reported.into_inner().unwrap();
        reported.sort();
        assert_eq!(reported, (1..=40).collect::<Vec<_>>());
        assert!(run_in_order(&[] as &[u8], 0, |_| 0, |_, _, _, _| {}).is_empty());
    }
}
