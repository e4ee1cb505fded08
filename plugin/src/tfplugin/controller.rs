//! go-plugin's GRPCController (Shutdown) and GRPCStdio services.

use tokio::sync::mpsc;
use tonic::{Request, Response, Status};

use super::goplugin::{Empty, StdioData, grpc_controller_server::GrpcController, grpc_stdio_server::GrpcStdio};

/// Answers Shutdown, then signals the plugin layer to stop serving. Without
/// it go-plugin waits 2 s per provider process before killing it.
pub(super) struct Controller {
    pub(super) shutdown: mpsc::Sender<()>,
}

#[tonic::async_trait]
impl GrpcController for Controller {
    async fn shutdown(&self, _: Request<Empty>) -> Result<Response<Empty>, Status> {
        tracing::debug!("controller shutdown requested");
        // A full channel means shutdown is already under way.
        let _ = self.shutdown.try_send(());
        Ok(Response::new(Empty {}))
    }
}

/// We write logs straight to stderr (which go-plugin forwards), so the
/// stdio stream has nothing to carry: it ends at once, which go-plugin
/// treats as a normal end of stream.
pub(super) struct Stdio;

#[tonic::async_trait]
impl GrpcStdio for Stdio {
    async fn stream_stdio(&self, _: Request<()>) -> Result<Response<tonic::codegen::BoxStream<StdioData>>, Status> {
        Ok(Response::new(Box::pin(tokio_stream::empty())))
    }
}
