//! The storage contract, on this run's backend (SQLite, or PostgreSQL when
//! `TESSERA_TEST_POSTGRES_URL` is set).

tessera_store::contract_suite!(tessera_store_sql::testing::fresh_store);
