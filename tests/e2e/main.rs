//! End-to-end tests: real nats-server, fixture site and service binaries.

mod container_env;
mod drills;
mod hostile;
mod pipeline;
mod reading_room;
mod resilience;
mod secrets;
mod security;
mod site;
mod soak;
mod sources;

mod kit_smoke {
    #[test]
    fn nats_server_starts_and_restarts_on_its_store() {
        let mut server = testkit::NatsServer::start();
        assert!(server.is_running());
        server.restart();
        assert!(server.is_running());
        assert!(server.store_dir().exists());
    }
}
