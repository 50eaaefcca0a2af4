//! The two socketioxide adapters plugboard runs on, behind one runtime switch.
//!
//! socketioxide makes every type generic over its adapter (`SocketIo<A>`, `SocketRef<A>`,
//! ...). Handler code must not care whether it runs on one node (`LocalAdapter`) or on a
//! Redis cluster ([`RedisAdapter`]), so the handler-facing types ([`Socket`](crate::Socket),
//! [`Io`](crate::Io), [`Broadcast`](crate::Broadcast)) hold an [`Either`] of the two and
//! dispatch with [`either!`]. The connect, message and disconnect handlers are generic over
//! [`Flavor`], which knows how to put its own types into the `Either`.

use socketioxide::SocketIo;
use socketioxide::adapter::{Adapter, Emitter, LocalAdapter};
use socketioxide::extract::{AckSender, SocketRef};
use socketioxide::operators::BroadcastOperators;
use socketioxide_redis::CustomRedisAdapter;

use crate::cluster::driver::PubSubDriver;

/// socketioxide's Redis adapter on plugboard's reconnecting pub/sub driver.
pub(crate) type RedisAdapter = CustomRedisAdapter<Emitter, PubSubDriver>;

/// A value for the local adapter or for the Redis adapter.
#[derive(Clone)]
pub(crate) enum Either<L, R> {
    Local(L),
    Redis(R),
}

/// Runs the same expression on whichever adapter a value is for.
macro_rules! either {
    ($value:expr, $bind:pat => $body:expr) => {
        match $value {
            $crate::adapter::Either::Local($bind) => $body,
            $crate::adapter::Either::Redis($bind) => $body,
        }
    };
}
pub(crate) use either;

/// A server handle on either adapter.
pub(crate) type AnyIo = Either<SocketIo<LocalAdapter>, SocketIo<RedisAdapter>>;
/// A socket on either adapter.
pub(crate) type AnySocketRef = Either<SocketRef<LocalAdapter>, SocketRef<RedisAdapter>>;
/// A pending broadcast on either adapter.
pub(crate) type AnyOperators =
    Either<BroadcastOperators<LocalAdapter>, BroadcastOperators<RedisAdapter>>;
/// The tower layer serving Socket.IO on either adapter.
pub(crate) type AnyLayer = Either<
    socketioxide::layer::SocketIoLayer<LocalAdapter>,
    socketioxide::layer::SocketIoLayer<RedisAdapter>,
>;
/// An ack sender on either adapter.
pub(crate) type AnyAck = Either<AckSender<LocalAdapter>, AckSender<RedisAdapter>>;

/// An adapter plugboard supports: it knows which side of [`Either`] its types go to.
pub(crate) trait Flavor: Adapter {
    fn socket(s: SocketRef<Self>) -> AnySocketRef;
    fn ack(a: AckSender<Self>) -> AnyAck;
}

impl Flavor for LocalAdapter {
    fn socket(s: SocketRef<Self>) -> AnySocketRef {
        Either::Local(s)
    }
    fn ack(a: AckSender<Self>) -> AnyAck {
        Either::Local(a)
    }
}

impl Flavor for RedisAdapter {
    fn socket(s: SocketRef<Self>) -> AnySocketRef {
        Either::Redis(s)
    }
    fn ack(a: AckSender<Self>) -> AnyAck {
        Either::Redis(a)
    }
}

impl AnyAck {
    /// Sends the ack body.
    pub(crate) fn send<T: serde::Serialize + ?Sized>(
        self,
        data: &T,
    ) -> Result<(), socketioxide::SendError> {
        either!(self, a => a.send(data))
    }
}
