{{/*
The receiver container, written once: the chart's Deployment uses it in deployment mode, and in
sidecar mode it is the snippet (ConfigMap "<fullname>-sidecar" and NOTES) for a pod someone else
owns. Its names (ConfigMap, Secret, volumes) are the release's, so the snippet works as is in
the release's namespace.
*/}}
{{- define "otel-desk-receiver.container" -}}
{{- $healthPort := include "otel-desk-receiver.healthPort" . }}
{{- $sidecar := eq .Values.mode "sidecar" -}}
{{- $multiApp := include "otel-desk-receiver.multiApp" . -}}
name: {{ ternary .Values.sidecar.containerName .Chart.Name $sidecar }}
image: {{ include "otel-desk-receiver.image" . | quote }}
imagePullPolicy: {{ .Values.image.pullPolicy }}
args:
  - run
  {{- if $multiApp }}
  - --config
  - {{ include "otel-desk-receiver.appsFilePath" . }}
  {{- end }}
envFrom:
  - configMapRef:
      name: {{ include "otel-desk-receiver.fullname" . }}
{{- if or (not $multiApp) (include "otel-desk-receiver.headersSecretName" .) .Values.extraEnv }}
env:
  {{- /* A file, not secretKeyRef: Kubernetes updates a mounted Secret in place, an env var never. */}}
  {{- if not $multiApp }}
  - name: DESK_API_TOKEN_FILE
    value: {{ include "otel-desk-receiver.tokenDir" . }}/api-token
  {{- end }}
  {{- with include "otel-desk-receiver.headersSecretName" . }}
  - name: OTEL_EXPORTER_OTLP_HEADERS
    valueFrom:
      secretKeyRef:
        name: {{ . }}
        key: {{ $.Values.otlp.headers.existingSecretKey }}
  {{- end }}
  {{- with .Values.extraEnv }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end }}
{{- $metricsPort := include "otel-desk-receiver.prometheusPort" . }}
{{- if or $healthPort $metricsPort }}
ports:
  {{- if $healthPort }}
  - name: desk-health
    containerPort: {{ $healthPort }}
    protocol: TCP
  {{- end }}
  {{- if $metricsPort }}
  - name: desk-metrics
    containerPort: {{ $metricsPort }}
    protocol: TCP
  {{- end }}
{{- end }}
{{- if $healthPort }}
{{- if .Values.probes.liveness.enabled }}
livenessProbe:
  httpGet:
    path: /healthz
    port: {{ $healthPort }}
  {{- toYaml (omit .Values.probes.liveness "enabled") | nindent 2 }}
{{- end }}
{{- if and .Values.probes.readiness.enabled (or (not $sidecar) .Values.sidecar.readinessProbe) }}
readinessProbe:
  httpGet:
    path: /readyz
    port: {{ $healthPort }}
  {{- toYaml (omit .Values.probes.readiness "enabled") | nindent 2 }}
{{- end }}
{{- end }}
{{- with .Values.resources }}
resources:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.securityContext | nindent 2 }}
volumeMounts:
  - name: desk-receiver-state
    mountPath: {{ include "otel-desk-receiver.stateDir" . }}
  - name: desk-receiver-tmp
    mountPath: /tmp
  {{- if $multiApp }}
  - name: desk-receiver-apps
    mountPath: {{ include "otel-desk-receiver.appsDir" . }}
    readOnly: true
  {{- range include "otel-desk-receiver.apps" . | fromYamlArray }}
  - name: {{ .volume }}
    mountPath: {{ .dir }}
    readOnly: true
  {{- end }}
  {{- else }}
  - name: desk-receiver-token
    mountPath: {{ include "otel-desk-receiver.tokenDir" . }}
    readOnly: true
  {{- end }}
  {{- with .Values.extraVolumeMounts }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end }}

{{/* The volumes the container mounts (extraVolumes included), for the pod's volumes list. */}}
{{- define "otel-desk-receiver.volumes" -}}
- name: desk-receiver-state
  {{- /* With the Kubernetes state backend the checkpoints live in a ConfigMap: no volume to keep. */}}
  {{- if and .Values.persistence.enabled (not (include "otel-desk-receiver.kubeState" .)) }}
  persistentVolumeClaim:
    claimName: {{ include "otel-desk-receiver.claimName" . }}
  {{- else }}
  emptyDir: {}
  {{- end }}
- name: desk-receiver-tmp
  emptyDir:
    medium: Memory
    sizeLimit: 16Mi
{{- /* No subPath on the mount: a subPath mount is never updated when the Secret changes. */}}
{{- if include "otel-desk-receiver.multiApp" . }}
- name: desk-receiver-apps
  configMap:
    name: {{ include "otel-desk-receiver.appsConfigMap" . }}
    items:
      - key: apps.yaml
        path: apps.yaml
{{- range include "otel-desk-receiver.apps" . | fromYamlArray }}
- name: {{ .volume }}
  secret:
    secretName: {{ .secret }}
    items:
      - key: {{ .key }}
        path: api-token
{{- end }}
{{- else }}
- name: desk-receiver-token
  secret:
    secretName: {{ include "otel-desk-receiver.tokenSecretName" . }}
    items:
      - key: {{ .Values.token.existingSecretKey }}
        path: api-token
{{- end }}
{{- with .Values.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end }}
