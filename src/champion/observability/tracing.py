"""OpenTelemetry traces of served requests, exported by OTLP/HTTP (the ``otel`` extra).

Off unless an OTLP endpoint is configured; off, no OpenTelemetry module is imported and the
serving path only tests ``tracing is None``. On, the server keeps a ``TracerProvider`` of its
own (never the process-wide one) and the request's span is the parent of the serving path's
spans through OpenTelemetry's context, which follows tasks and ``contextvars``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from champion import __version__
from champion.errors import MissingExtra

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Span
    from opentelemetry.util.types import AttributeValue

__all__ = ["Tracing"]


class Tracing:
    """Spans of one server, made by ``provider``.

    Parameters
    ----------
    provider
        An OpenTelemetry SDK ``TracerProvider`` with its span processors; tests pass one with
        an in-memory exporter.
    exporter
        Where ``start`` sends spans through a batch processor (its thread starts with the
        server, not when the app is built).
    """

    def __init__(self, provider: TracerProvider, exporter: SpanExporter | None = None) -> None:
        from opentelemetry import propagate, trace

        self.provider = provider
        self.exporter = exporter
        self.tracer = provider.get_tracer("champion", __version__)
        self._trace = trace
        self._propagate = propagate

    @classmethod
    def from_endpoint(cls, endpoint: str | None) -> Tracing | None:
        """Tracing that exports to the OTLP/HTTP receiver at ``endpoint`` (a base URL; spans
        go to ``<endpoint>/v1/traces``), or None when ``endpoint`` is unset.

        Sampling, headers, timeouts and the service name follow the standard ``OTEL_*``
        variables.
        """
        if not endpoint:
            return None
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            from opentelemetry.sdk.resources import SERVICE_NAME, Resource
            from opentelemetry.sdk.trace import TracerProvider
        except ImportError:
            raise MissingExtra(
                f"Tracing to {endpoint!r} needs the otel extra: pip install 'champion[otel]'"
            ) from None
        # Resource.create reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES over this default.
        resource = Resource.create({SERVICE_NAME: "champion"})
        provider = TracerProvider(resource=resource)
        url = endpoint.rstrip("/") + "/v1/traces"
        return cls(provider, OTLPSpanExporter(endpoint=url))

    def start(self) -> None:
        """Start exporting (a thread sends spans in batches, off the requests' path)."""
        if self.exporter is not None:
            from opentelemetry.sdk.trace.export import BatchSpanProcessor

            self.provider.add_span_processor(BatchSpanProcessor(self.exporter))

    @contextlib.contextmanager
    def request_span(
        self, name: str, headers: Mapping[str, str], attributes: Mapping[str, AttributeValue]
    ) -> Iterator[Span]:
        """The server span of one HTTP request, continuing the caller's trace when its
        ``traceparent`` header names one."""
        parent = self._propagate.extract(headers)
        with self.tracer.start_as_current_span(
            name,
            context=parent,
            kind=self._trace.SpanKind.SERVER,
            attributes=attributes,
            record_exception=False,  # the error handlers answer and log exceptions
            set_status_on_exception=False,
        ) as span:
            yield span

    def span(self, name: str) -> contextlib.AbstractContextManager[Span]:
        """A child of the current span."""
        return self.tracer.start_as_current_span(name)

    def trace_id(self) -> str | None:
        """The current trace's id as 32 hex digits, when it is sampled (else it leads
        nowhere: no span of it is exported)."""
        context = self._trace.get_current_span().get_span_context()
        if not context.is_valid or not context.trace_flags.sampled:
            return None
        return self._trace.format_trace_id(context.trace_id)

    def error(self, span: Span, description: str) -> None:
        span.set_status(self._trace.Status(self._trace.StatusCode.ERROR, description))

    def close(self) -> None:
        """Export what is buffered, then stop the exporter ``start`` started."""
        if self.exporter is not None:
            self.provider.shutdown()
