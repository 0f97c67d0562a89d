//! Tickets through the edge: who may do what (customer A, customer B, A's
//! API key, operator, admin), internal notes hidden from customers in
//! GetTicket and ListTickets, the state machine, and the e-mails an
//! assignment and a public reply send.

use std::time::Duration;

use rustbill_proto::downstream::CreateApiKeyRequest;
use rustbill_proto::downstream::api_key_service_client::ApiKeyServiceClient;
use rustbill_proto::ticket::ticket_service_client::TicketServiceClient;
use rustbill_proto::ticket::*;
use rustbill_system_tests::{ADMIN_PASSWORD, bearer, flows, session};
use tonic::Code;

use crate::orders::{SETTLE, Shop};
use crate::smtp_server::{SmtpMode, SmtpServer};

/// An operator with an e-mail address; their cookie and user id.
async fn operator(shop: &Shop, username: &str) -> (String, String) {
    let pool = shop.server.pool().await;
    let hash: String = sqlx::query_scalar("select password_hash from identity.admin_users where username = 'admin'")
        .fetch_one(&pool)
        .await
        .expect("hash");
    let id = uuid::Uuid::now_v7();
    sqlx::query(
        "insert into identity.admin_users (id, username, display_name, password_hash, role, email)
         values ($1, $2, $2, $3, 'operator', $4)",
    )
    .bind(id)
    .bind(username)
    .bind(hash)
    .bind(format!("{username}@staff.example.com"))
    .execute(&pool)
    .await
    .expect("operator");
    pool.close().await;
    (flows::admin_cookie(shop.channel.clone(), username, ADMIN_PASSWORD).await, id.to_string())
}

async fn mails_to(smtp: &SmtpServer, address: &str, count: usize) -> Vec<crate::smtp_server::Received> {
    let deadline = tokio::time::Instant::now() + SETTLE;
    loop {
        let found: Vec<_> =
            smtp.received().into_iter().filter(|mail| mail.rcpt_to.iter().any(|to| to == address)).collect();
        if found.len() >= count {
            return found;
        }
        assert!(tokio::time::Instant::now() < deadline, "{address} got {} of {count} e-mails", found.len());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tickets_check_their_callers_hide_internal_notes_and_notify() {
    let shop = Shop::open("", false).await;
    let smtp = SmtpServer::start(SmtpMode::Plain).await;
    let email = serde_json::json!({
        "smtp_host": "127.0.0.1", "smtp_port": smtp.port(), "from": "RustBill <support@example.com>", "encryption": "none",
    });
    flows::enabled_interface(&shop.server, &shop.admin, "email", "Mail", &email.to_string()).await;
    let (otto, otto_id) = operator(&shop, "otto").await;
    let (_ada, ada_id) = operator(&shop, "ada").await;
    let (alice, bob) = (shop.customer("alice_ticket").await, shop.customer("bob_ticket").await);
    flows::allow_api_keys(&shop.server, &shop.admin, &alice.customer_id).await;
    let key = ApiKeyServiceClient::new(shop.channel.clone())
        .create_api_key(bearer(
            CreateApiKeyRequest { name: "support".into(), customer_id: String::new() },
            &alice.access_token,
        ))
        .await
        .expect("api key")
        .into_inner()
        .api_key;
    let mut tickets = TicketServiceClient::new(shop.channel.clone());
    let new = |customer_id: &str, priority: &str| CreateTicketRequest {
        customer_id: customer_id.into(),
        title: "SSH 连不上 / cannot SSH".into(),
        description: "Connection refused since this morning".into(),
        priority: priority.into(),
    };

    // Creating: customers for themselves only, staff for a named customer.
    let anonymous = tickets.create_ticket(new("", "high")).await.expect_err("anonymous");
    assert_eq!(anonymous.code(), Code::Unauthenticated);
    let ticket = tickets
        .create_ticket(bearer(new(&bob.customer_id, "high"), &alice.access_token))
        .await
        .expect("alice opens a ticket")
        .into_inner()
        .ticket
        .expect("ticket");
    assert_eq!(ticket.customer_id, alice.customer_id, "the token's customer, not the one sent");
    assert_eq!((ticket.status.as_str(), ticket.priority.as_str()), ("pending", "high"));
    assert_eq!(ticket.creator_user_id, alice.user_id);
    let by_key =
        tickets.create_ticket(bearer(new("", ""), &key)).await.expect("by API key").into_inner().ticket.expect("t");
    assert_eq!((by_key.customer_id.as_str(), by_key.priority.as_str()), (alice.customer_id.as_str(), "medium"));
    let by_staff = tickets
        .create_ticket(session(new(&bob.customer_id, "low"), &otto))
        .await
        .expect("an operator opens one for bob")
        .into_inner()
        .ticket
        .expect("t");
    assert_eq!(by_staff.customer_id, bob.customer_id);
    for (request, code) in [
        (new(&alice.customer_id, "critical"), Code::InvalidArgument),
        (CreateTicketRequest { title: " ".into(), ..new(&alice.customer_id, "low") }, Code::InvalidArgument),
        (new(&uuid::Uuid::now_v7().to_string(), "low"), Code::NotFound),
        (new("", "low"), Code::InvalidArgument),
    ] {
        let error = tickets.create_ticket(session(request.clone(), &shop.admin)).await.expect_err("bad ticket");
        assert_eq!(error.code(), code, "{request:?}");
    }

    // Reading: each customer their own; staff everything.
    let hidden = tickets
        .get_ticket(bearer(GetTicketRequest { id: ticket.id.clone() }, &bob.access_token))
        .await
        .expect_err("bob reads alice's ticket");
    assert_eq!(hidden.code(), Code::NotFound);
    let lister = tickets.clone();
    let listed = |token: &str, customer: Option<&str>| {
        let mut tickets = lister.clone();
        let request =
            bearer(ListTicketsRequest { customer_id: customer.map(str::to_string), ..Default::default() }, token);
        async move { tickets.list_tickets(request).await.expect("list").into_inner() }
    };
    assert_eq!(listed(&alice.access_token, None).await.meta.expect("meta").total, 2);
    assert_eq!(
        listed(&bob.access_token, Some(&alice.customer_id)).await.meta.expect("meta").total,
        1,
        "bob's own only"
    );
    let all =
        tickets.list_tickets(session(ListTicketsRequest::default(), &otto)).await.expect("staff list").into_inner();
    assert_eq!(all.meta.expect("meta").total, 3);

    // Updating: staff only, along the state machine; assignment notifies.
    let update = |status: Option<&str>, assignee: Option<&str>| UpdateTicketRequest {
        id: ticket.id.clone(),
        status: status.map(str::to_string),
        assignee_user_id: assignee.map(str::to_string),
        ..Default::default()
    };
    let denied = tickets
        .update_ticket(bearer(update(Some("closed"), None), &alice.access_token))
        .await
        .expect_err("customers do not update");
    assert_eq!(denied.code(), Code::PermissionDenied);
    let skipped =
        tickets.update_ticket(session(update(Some("resolved"), None), &otto)).await.expect_err("skips a state");
    assert_eq!(skipped.code(), Code::InvalidArgument);
    let nobody = tickets
        .update_ticket(session(update(None, Some(&uuid::Uuid::now_v7().to_string())), &otto))
        .await
        .expect_err("no such assignee");
    assert_eq!(nobody.code(), Code::InvalidArgument);
    let assigned = tickets
        .update_ticket(session(update(Some("processing"), Some(&otto_id)), &otto))
        .await
        .expect("take it")
        .into_inner()
        .ticket
        .expect("ticket");
    assert_eq!((assigned.status.as_str(), assigned.assignee_user_id.as_str()), ("processing", otto_id.as_str()));
    mails_to(&smtp, "otto@staff.example.com", 1).await;
    tickets.update_ticket(session(update(None, Some(&ada_id)), &shop.admin)).await.expect("hand it over");
    mails_to(&smtp, "ada@staff.example.com", 1).await;
    mails_to(&smtp, "otto@staff.example.com", 2).await;

    // Replies: a public answer reaches alice; an internal note never shows.
    let public = tickets
        .create_reply(session(
            CreateReplyRequest {
                ticket_id: ticket.id.clone(),
                content: "Please try again now.".into(),
                is_internal: false,
            },
            &otto,
        ))
        .await
        .expect("public reply")
        .into_inner()
        .reply
        .expect("reply");
    tickets
        .create_reply(session(
            CreateReplyRequest {
                ticket_id: ticket.id.clone(),
                content: "Firewall was wrong, fixed.".into(),
                is_internal: true,
            },
            &otto,
        ))
        .await
        .expect("internal note");
    tickets
        .create_reply(bearer(
            CreateReplyRequest { ticket_id: ticket.id.clone(), content: "Works, thanks!".into(), is_internal: false },
            &alice.access_token,
        ))
        .await
        .expect("alice answers");
    let sneaky = tickets
        .create_reply(bearer(
            CreateReplyRequest { ticket_id: ticket.id.clone(), content: "note".into(), is_internal: true },
            &alice.access_token,
        ))
        .await
        .expect_err("customers write no internal notes");
    assert_eq!(sneaky.code(), Code::PermissionDenied);
    let foreign = tickets
        .create_reply(bearer(
            CreateReplyRequest { ticket_id: ticket.id.clone(), content: "hi".into(), is_internal: false },
            &bob.access_token,
        ))
        .await
        .expect_err("bob cannot reply to alice's ticket");
    assert_eq!(foreign.code(), Code::NotFound);
    let empty = tickets
        .create_reply(session(
            CreateReplyRequest { ticket_id: ticket.id.clone(), content: "  ".into(), is_internal: false },
            &otto,
        ))
        .await
        .expect_err("empty reply");
    assert_eq!(empty.code(), Code::InvalidArgument);

    let seen_by_alice = tickets
        .get_ticket(bearer(GetTicketRequest { id: ticket.id.clone() }, &alice.access_token))
        .await
        .expect("get")
        .into_inner()
        .ticket
        .expect("ticket");
    let contents: Vec<&str> = seen_by_alice.replies.iter().map(|reply| reply.content.as_str()).collect();
    assert_eq!(contents, ["Please try again now.", "Works, thanks!"]);
    let in_list = listed(&alice.access_token, None).await;
    let listed_ticket = in_list.tickets.iter().find(|listed| listed.id == ticket.id).expect("listed");
    assert!(listed_ticket.replies.iter().all(|reply| !reply.is_internal), "no notes in the list either");
    let seen_by_staff = tickets
        .get_ticket(session(GetTicketRequest { id: ticket.id.clone() }, &otto))
        .await
        .expect("get")
        .into_inner()
        .ticket
        .expect("ticket");
    assert_eq!(seen_by_staff.replies.len(), 3);
    assert!(seen_by_staff.replies.iter().any(|reply| reply.is_internal));
    assert_eq!(public.user_id, otto_id);
    assert!(public.customer_id.is_empty(), "staff replies carry no customer");
    let answer = seen_by_staff.replies.iter().find(|reply| reply.content == "Works, thanks!").expect("alice's answer");
    assert_eq!(
        (answer.user_id.as_str(), answer.customer_id.as_str()),
        (alice.user_id.as_str(), ticket.customer_id.as_str())
    );
    // Alice's mailbox: the registration code, then the public reply (the
    // body is MIME-encoded, so the delivery log says which is which).
    mails_to(&smtp, &alice.email, 2).await;
    let pool = shop.server.pool().await;
    let replied: Vec<(String, String)> =
        sqlx::query_as("select recipient, status from notify.deliveries where event_type = 'ticket_replied'")
            .fetch_all(&pool)
            .await
            .expect("deliveries");
    assert_eq!(replied, [(alice.email.clone(), "sent".to_string())], "one e-mail for the public reply");
    let leaked: i64 = sqlx::query_scalar("select count(*) from notify.deliveries where body like '%Firewall%'")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(leaked, 0, "notes are never sent anywhere");
    pool.close().await;

    // Resolved → closed; a closed ticket takes no replies.
    tickets.update_ticket(session(update(Some("resolved"), None), &otto)).await.expect("resolve");
    tickets.update_ticket(session(update(Some("closed"), None), &otto)).await.expect("close");
    let closed = tickets
        .create_reply(bearer(
            CreateReplyRequest { ticket_id: ticket.id.clone(), content: "one more".into(), is_internal: false },
            &alice.access_token,
        ))
        .await
        .expect_err("closed");
    assert_eq!(closed.code(), Code::FailedPrecondition);

    // Deleting: admins only.
    for (who, request) in [
        ("alice", bearer(DeleteTicketRequest { id: by_key.id.clone() }, &alice.access_token)),
        ("operator", session(DeleteTicketRequest { id: by_key.id.clone() }, &otto)),
    ] {
        let error = tickets.delete_ticket(request).await.expect_err(who);
        assert_eq!(error.code(), Code::PermissionDenied, "{who}");
    }
    tickets
        .delete_ticket(session(DeleteTicketRequest { id: by_key.id.clone() }, &shop.admin))
        .await
        .expect("admin deletes");
    let gone = tickets
        .get_ticket(session(GetTicketRequest { id: by_key.id.clone() }, &shop.admin))
        .await
        .expect_err("deleted");
    assert_eq!(gone.code(), Code::NotFound);
}
