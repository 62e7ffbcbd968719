//! Several gslb instances as one NS set on etcd (issue #13): real `gslb` binaries on their own
//! 127.0.0.x, real HTTP backends, a real 3-member etcd cluster (harness::etcd), a TCP proxy for
//! partitions (harness::tcp_proxy).

mod fixtures;
