//! TCP_NODELAY for PostgreSQL connections: a workaround, to be removed.
//!
//! sqlx 0.9.0 dropped TCP_NODELAY (sqlx issue 4335; fixed upstream by PR 4336, not yet in a
//! release when this was written). Remove this module, and its `after_connect` hook in
//! `store/mod.rs`, once the sqlx that sea-orm depends on includes that fix: the rush benchmark
//! on PostgreSQL (bench/README.md) shows whether it did.
//!
//! sqlx opens PostgreSQL's TCP connections without TCP_NODELAY, and writes a statement's
//! messages in more than one piece. With Nagle's algorithm the second piece waits for the
//! server to acknowledge the first, which it delays by up to 40 ms: measured here, a batch of
//! registrations took 60–190 ms over TCP and 10 ms over a Unix socket, and the rush ran at
//! ~750 registrations/s instead of ~3,600/s. sqlx offers no socket options, so after each new
//! connection we set TCP_NODELAY on this process's sockets. It is harmless on every other TCP
//! socket (lower latency is what we want on those too), and fails quietly on sockets that are
//! not TCP.

/// Sets TCP_NODELAY on every socket this process has open.
pub fn set_on_all_sockets() -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        for entry in std::fs::read_dir("/proc/self/fd")?.flatten() {
            let Some(fd) = entry.file_name().to_str().and_then(|s| s.parse::<libc::c_int>().ok()) else { continue };
            let is_socket = std::fs::read_link(entry.path()).is_ok_and(|target| target.to_string_lossy().starts_with("socket:"));
            if is_socket {
                set_nodelay(fd);
            }
        }
    }
    Ok(())
}

#[cfg(target_os = "linux")]
fn set_nodelay(fd: libc::c_int) {
    let on: libc::c_int = 1;
    // SAFETY: setsockopt only reads `on` for the length given and neither takes ownership of
    // nor closes `fd`. If `fd` was closed (or reused for another file) since it was listed, the
    // call fails with EBADF or ENOTSOCK, or sets the option on another socket; all harmless.
    let _ = unsafe {
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_NODELAY,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
}
