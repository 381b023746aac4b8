//! Building the application from settings: database, migrations, services, routes, listener.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use poem::listener::{Acceptor, Listener, TcpAcceptor, TcpListener};
use poem::{Endpoint, EndpointExt, Route, Server, get, post};
use tokio::sync::watch;

use crate::api;
use crate::clock::Clock;
use crate::config::Settings;
use crate::mail::Mailer;
use crate::middleware;
use crate::ops::{self, Metrics};
use crate::service::mail_worker::MailWorker;
use crate::service::{Services, auth, housekeeping, reminders, schema};
use crate::store::Db;
use crate::timed_io::TimedAcceptor;
use crate::web;

/// How long a shutdown waits for requests in flight before it gives up on them.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// How often SQLite's write-ahead log is copied back into the database (`store::checkpoint_wal`).
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// A bound, migrated, ready-to-run server.
pub struct Application {
    address: SocketAddr,
    acceptor: TcpAcceptor,
    services: Services,
    mailer: Mailer,
}

impl Application {
    /// Connects to the database, runs the migrations, creates the bootstrap admin if asked, and
    /// binds `server.bind` (port 0 picks a free port; [`Application::address`] tells which).
    pub async fn build(settings: Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let db =
            Db::connect(&settings.database.url, settings.database.max_connections).await.with_context(|| "connecting to database.url")?;
        db.migrate_up().await.context("running migrations")?;
        let mailer = Mailer::from_settings(&settings.mail)?;
        let services = services(db, clock, Arc::new(settings));
        auth::bootstrap_admin(&services).await.map_err(|e| anyhow::anyhow!("creating the bootstrap admin: {e}"))?;
        if services.settings.mail.run_worker {
            MailWorker::take_back_stale_claims(&services).await;
        }
        let warmed = crate::service::slots::warm_up(&services).await;
        tracing::debug!(connections = warmed, "the booking's reads are warmed");

        let bind = services.settings.server.bind.clone();
        let acceptor = TcpListener::bind(bind.clone()).into_acceptor().await.with_context(|| format!("binding server.bind {bind}"))?;
        let address = acceptor.local_addr().first().and_then(|a| a.as_socket_addr().copied()).context("the listener has no address")?;
        tracing::info!("listening on {address}");
        Ok(Self { address, acceptor, services, mailer })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    pub fn services(&self) -> &Services {
        &self.services
    }

    /// Serves, with the reminder scheduler and (unless `mail.run_worker` is off) the mail
    /// worker beside it, until `shutdown` completes; then stops accepting, lets requests in
    /// flight finish (up to 30 s) and lets the mail worker finish the round it is in.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send) -> std::io::Result<()> {
        let (stop, stopped) = watch::channel(false);
        let mut background = vec![
            tokio::spawn(reminders::run(self.services.clone(), stopped.clone())),
            tokio::spawn(housekeeping::run(self.services.clone(), stopped.clone())),
            tokio::spawn(schema::checkpoint_wal(self.services.clone(), CHECKPOINT_EVERY, stopped.clone())),
        ];
        if self.services.settings.mail.run_worker {
            background.push(tokio::spawn(MailWorker::new(self.services.clone(), self.mailer).run(stopped)));
        }
        let app = routes(self.services.clone());
        let read_timeout = Duration::from_secs(self.services.settings.server.read_timeout_secs);
        let result = Server::new_with_acceptor(TimedAcceptor::new(self.acceptor, read_timeout))
            .run_with_graceful_shutdown(app, shutdown, Some(DRAIN_TIMEOUT))
            .await;
        let _ = stop.send(true);
        for task in background {
            let _ = task.await;
        }
        schema::close(self.services).await;
        tracing::info!("stopped");
        result
    }
}

/// `carefair worker`: the mail worker alone (with SQLite's log checkpoint, as in `serve`), until
/// `shutdown` completes (the round under way is finished first).
pub async fn run_worker(settings: Settings, clock: Arc<dyn Clock>, shutdown: impl Future<Output = ()> + Send) -> anyhow::Result<()> {
    let db = Db::connect(&settings.database.url, settings.database.max_connections).await.with_context(|| "connecting to database.url")?;
    db.migrate_up().await.context("running migrations")?;
    let mailer = Mailer::from_settings(&settings.mail)?;
    let services = services(db, clock, Arc::new(settings));
    MailWorker::take_back_stale_claims(&services).await;
    let worker = MailWorker::new(services.clone(), mailer);
    let (stop, stopped) = watch::channel(false);
    let background =
        [tokio::spawn(schema::checkpoint_wal(services.clone(), CHECKPOINT_EVERY, stopped.clone())), tokio::spawn(worker.run(stopped))];
    tracing::info!("mail worker started");
    shutdown.await;
    let _ = stop.send(true);
    for task in background {
        let _ = task.await;
    }
    schema::close(services).await;
    Ok(())
}

/// Starts the registration writer and builds the services over it. Every task carefair runs is
/// started here, in `startup`.
fn services(db: Db, clock: Arc<dyn Clock>, settings: Arc<Settings>) -> Services {
    let mail_wake = Arc::new(tokio::sync::Notify::new());
    let registrar = crate::service::registrar::Registrar::spawn(db.clone(), clock.clone(), &settings, mail_wake.clone());
    Services::new(db, clock, settings, registrar, mail_wake)
}

/// The services over the configured database, migrated, for a one-shot command that changes
/// data (`user add`, `import`, `demo`).
pub async fn command_services(settings: Settings) -> anyhow::Result<Services> {
    let db = Db::connect(&settings.database.url, 2).await.context("connecting to database.url")?;
    db.migrate_up().await.context("running migrations")?;
    Ok(services(db, Arc::new(crate::clock::SystemClock), Arc::new(settings)))
}

/// Every route, wrapped in error mapping, request ids and metrics.
pub fn routes(services: Services) -> impl Endpoint + 'static {
    let metrics = Arc::new(Metrics::default());
    // The operations' paths carry `/api/v1` already: the server is the site itself, or Swagger's
    // "Try it out" would call `/api/v1/api/v1/…`.
    let api = api::service(&services).server(services.settings.public_url().to_owned());
    let spec = api.spec_endpoint();
    let docs = api.swagger_ui();
    let observed = metrics.clone();
    let settings = services.settings.clone();
    Route::new()
        .at("/healthz", ops::healthz)
        .at("/readyz", ops::readyz)
        .at("/metrics", ops::metrics)
        .at("/calendar/public.ics", web::calendar::public)
        .at("/calendar/events/:file", web::calendar::event)
        .at("/calendar/registrations/:file", web::calendar::registration)
        .at("/calendar/registrations/:token/slots/:file", web::calendar::interview)
        .at("/calendar/campaigns/:file", web::calendar::campaign)
        .at("/calendar/employers/:file", web::calendar::employer)
        .at("/", get(web::pages::index))
        .at("/events/:id", get(web::pages::show_event))
        .at("/events/:id/register", post(web::pages::register))
        .at("/r/:token", get(web::pages::manage))
        .at("/r/:token/cancel", get(web::pages::confirm_cancel).post(web::pages::cancel))
        .at("/r/:token/claim", post(web::pages::claim))
        .at("/feedback/:token", get(web::feedback::show).post(web::feedback::give))
        .at("/r/:token/ticket", get(web::pages::ticket))
        .at("/r/:token/slots", post(web::interviews::book))
        .at("/r/:token/slots/:slot_id/free", post(web::interviews::free))
        .at("/r/:token/ticket.png", get(web::pages::ticket_image))
        .at("/door/:token", get(web::door::link_page).post(web::door::link_code))
        .at("/door/:token/undo/:rid", post(web::door::link_undo))
        .at("/door/:token/walk-in", post(web::door::link_walk_in))
        .at("/door/:token/counts", get(web::door::link_counts))
        .at("/rsvp/:token", get(web::pages::rsvp_page).post(web::pages::rsvp_answer))
        .at("/campaigns/:slug", get(web::pages::show_campaign))
        .at("/employers/signup", get(web::pages::signup_form).post(web::pages::signup))
        .at("/static/:file", get(web::pages::static_file))
        .at("/sign-in", get(web::account::sign_in_form).post(web::account::sign_in))
        .at("/sign-out", post(web::account::sign_out))
        .at("/password/forgot", get(web::account::forgot_form).post(web::account::forgot))
        .at("/password/reset/:token", get(web::account::reset_form).post(web::account::reset))
        .at("/employer", get(web::portal::employer::home))
        .at("/employer/profile", get(web::portal::employer::profile).post(web::portal::employer::save_profile))
        .at("/employer/users", get(web::portal::employer::users_list).post(web::portal::employer::invite))
        .at("/employer/stands", get(web::portal::employer::stands_list))
        .at("/employer/people/:id", get(web::portal::people::list).post(web::portal::people::record))
        .at("/employer/stands/:id", post(web::portal::employer::book))
        .at("/employer/stands/:id/:xid/withdraw", post(web::portal::employer::withdraw))
        .at("/employer/interviews", get(web::portal::interviews::list))
        .at("/employer/interviews/:id/:xid", post(web::portal::interviews::cut))
        .at("/employer/schools", get(web::portal::employer::schools))
        .at("/employer/schools/:id/ask", post(web::portal::employer::ask))
        .at("/employer/engagements", get(web::portal::employer::engagements_list))
        .at("/employer/calendar", get(web::portal::employer::calendar).post(web::portal::employer::new_calendar))
        .at("/school", get(web::portal::school::home))
        .at("/school/links/:id/accept", post(web::portal::school::accept))
        .at("/school/links/:id/decline", post(web::portal::school::decline))
        .at("/school/links/:id/end", post(web::portal::school::end))
        .at("/school/engagements/:id", get(web::portal::school::engagement_show))
        .at("/school/engagements/:id/outcome", post(web::portal::school::record_outcome))
        .at("/school/encounters", get(web::portal::school::encounters_page))
        .at("/school/encounters.csv", get(web::portal::school::encounters_csv))
        .at("/manage", get(web::manage::dashboard))
        .at("/manage/events", get(web::manage::events::list))
        .at("/manage/events/new", get(web::manage::events::new_form).post(web::manage::events::create))
        .at("/manage/events/:id", get(web::manage::events::show))
        .at("/manage/events/:id/edit", get(web::manage::events::edit_form).post(web::manage::events::update))
        .at("/manage/events/:id/publish", post(web::manage::events::publish))
        .at("/manage/events/:id/cancel", post(web::manage::events::cancel))
        .at("/manage/events/:id/delete", post(web::manage::events::delete))
        .at("/manage/events/:id/duplicate", post(web::manage::events::duplicate))
        .at("/manage/events/:id/exhibitors/:xid/confirm", post(web::manage::events::confirm_stand))
        .at("/manage/events/:id/exhibitors/:xid/decline", post(web::manage::events::decline_stand))
        .at("/manage/events/:id/invitations", get(web::manage::invitations::show).post(web::manage::invitations::paste))
        .at("/manage/events/:id/invitations/upload", post(web::manage::invitations::upload))
        .at("/manage/events/:id/registrations", get(web::manage::registrations::list))
        .at("/manage/events/:id/registrations.csv", get(web::manage::registrations::csv))
        .at("/manage/events/:id/attendance", get(web::manage::registrations::attendance))
        .at("/manage/events/:id/registrations/:rid/check-in", post(web::manage::registrations::check_in))
        .at("/manage/events/:id/check-in", get(web::door::staff_page).post(web::door::staff_code))
        .at("/manage/events/:id/check-in/person/:rid", post(web::door::staff_person))
        .at("/manage/events/:id/check-in/undo/:rid", post(web::door::staff_undo))
        .at("/manage/events/:id/check-in/walk-in", post(web::door::staff_walk_in))
        .at("/manage/events/:id/check-in/counts", get(web::door::staff_counts))
        .at("/manage/events/:id/door-links", get(web::door::links_list).post(web::door::links_create))
        .at("/manage/events/:id/feedback", get(web::manage::feedback::show))
        .at("/manage/events/:id/outcomes", get(web::manage::outcomes::show))
        .at("/manage/events/:id/questions", get(web::manage::questions::list).post(web::manage::questions::create))
        .at("/manage/events/:id/questions/:qid/:action", post(web::manage::questions::act))
        .at("/manage/events/:id/interviews", get(web::door::interviews))
        .at("/manage/events/:id/interviews/:xid", post(web::door::cut_slots))
        .at("/manage/events/:id/door-links/:lid/delete", post(web::door::links_delete))
        .at("/manage/events/:id/registrations/:rid/undo", post(web::manage::registrations::undo))
        .at("/manage/events/:id/registrations/:rid/cancel", post(web::manage::registrations::cancel))
        .at("/manage/employers", get(web::manage::employers::list))
        .at("/manage/employers/:id/approve", post(web::manage::employers::approve))
        .at("/manage/employers/:id/suspend", post(web::manage::employers::suspend))
        .at("/manage/campaigns", get(web::manage::campaigns::list))
        .at("/manage/campaigns/new", get(web::manage::campaigns::new_campaign).post(web::manage::campaigns::create_campaign))
        .at("/manage/campaigns/:id", get(web::manage::campaigns::edit_campaign).post(web::manage::campaigns::update_campaign))
        .at("/manage/venues", get(web::manage::campaigns::venues_list))
        .at("/manage/venues/new", get(web::manage::campaigns::new_venue).post(web::manage::campaigns::create_venue))
        .at("/manage/venues/:id", get(web::manage::campaigns::edit_venue).post(web::manage::campaigns::update_venue))
        .at("/manage/schools", get(web::manage::schools::list))
        .at("/manage/schools/:id", get(web::manage::schools::show))
        .at("/manage/schools/:id/invite", post(web::manage::schools::invite))
        .at("/manage/schools/:id/engagements/new", get(web::manage::engagements::new_form).post(web::manage::engagements::create))
        .at("/manage/engagements", get(web::manage::engagements::list))
        .at("/manage/engagements/:id/edit", get(web::manage::engagements::edit_form).post(web::manage::engagements::update))
        .at("/manage/engagements/:id/outcome", post(web::manage::engagements::record_outcome))
        .at("/manage/school-links", get(web::manage::schools::links))
        .at("/manage/school-links/:id/accept", post(web::manage::schools::accept))
        .at("/manage/school-links/:id/decline", post(web::manage::schools::decline))
        .at("/manage/school-links/:id/end", post(web::manage::schools::end))
        .at("/manage/reports", get(web::manage::reports::overview))
        .at("/manage/outbox", get(web::manage::reports::outbox_list))
        .at("/manage/outbox/:id/retry", post(web::manage::reports::retry))
        .at("/manage/users", get(web::manage::users::list))
        .at("/manage/users/invite", post(web::manage::users::invite))
        .at("/manage/users/:id/role", post(web::manage::users::change_role))
        .at("/manage/users/:id/deactivate", post(web::manage::users::deactivate))
        .nest("/api/v1/openapi.json", spec)
        .nest("/api/docs", docs)
        .nest_no_strip("/api/v1", api)
        .catch_all_error(api::problem::catch_all)
        .data(services)
        .data(metrics)
        .around(move |ep, req| middleware::guard(ep, req, settings.clone()))
        .around(move |ep, req| middleware::observe(ep, req, observed.clone()))
}

/// Resolves on SIGTERM or Ctrl-C. The handlers are installed when this is called, not when the
/// future is first polled: a server answers before its accept loop first polls its shutdown
/// signal, and a SIGTERM in between would otherwise kill the process outright.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send {
    #[cfg(unix)]
    let (term, int) = {
        use tokio::signal::unix::{SignalKind, signal};
        (signal(SignalKind::terminate()).ok(), signal(SignalKind::interrupt()).ok())
    };
    async move {
        #[cfg(unix)]
        {
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = wait(term) => {},
                () = wait(int) => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        tracing::info!("shutting down: draining requests in flight");
    }
}
