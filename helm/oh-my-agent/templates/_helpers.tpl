{{- /*
  Names, labels and checks of this chart's own objects. Like z2jh with its
  default fullnameOverride (""), the names are fixed: one release per namespace.
*/}}

{{- define "oh-my-agent.labels" -}}
app.kubernetes.io/name: oh-my-agent
app.kubernetes.io/instance: {{ .Release.Name | quote }}
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/part-of: oh-my-agent
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version | replace "+" "_" }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "oh-my-agent.selector" -}}
app.kubernetes.io/name: oh-my-agent
app.kubernetes.io/instance: {{ .Release.Name | quote }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- /* The labels z2jh (and KubeSpawner, for user pods) give the pods of one of its components. */}}
{{- define "oh-my-agent.z2jhSelector" -}}
component: {{ .component }}
app: {{ .Values.jupyterhub.nameOverride | default "jupyterhub" | quote }}
release: {{ .Release.Name | quote }}
{{- end }}

{{- /* The agents service's address inside the cluster (user pods, the proxy). */}}
{{- define "oh-my-agent.agentsHost" -}}
agents.{{ .Release.Namespace }}.svc
{{- end }}

{{- /* The model gateway's address inside the cluster (user pods call it directly). */}}
{{- define "oh-my-agent.gatewayHost" -}}
model-gateway.{{ .Release.Namespace }}.svc
{{- end }}

{{- /* Whether the gateway runs in the agents service's pod: the SQLite store's volume is that pod's alone. */}}
{{- define "oh-my-agent.gatewayBesideAgents" -}}
{{- if not .Values.store.url }}true{{ end }}
{{- end }}

{{- /* The pods the model gateway runs in: its own, or the agents service's (the SQLite store). */}}
{{- define "oh-my-agent.gatewaySelector" -}}
{{- include "oh-my-agent.selector" (merge (dict "component" (ternary "agents" "model-gateway" (eq (include "oh-my-agent.gatewayBesideAgents" .) "true"))) .) }}
{{- end }}

{{- /*
  The model gateway's container: the only one given the model's credentials
  (an Anthropic key from a Secret, by reference, or Vertex AI through the pod's
  Workload Identity), with the store's address and the hub's API to check tokens.
*/}}
{{- define "oh-my-agent.gatewayContainer" -}}
{{- $gateway := .Values.modelGateway }}
{{- $hubImage := .Values.jupyterhub.hub.image }}
- name: model-gateway
  image: {{ include "oh-my-agent.image" $hubImage | quote }}
  imagePullPolicy: {{ $hubImage.pullPolicy | default "IfNotPresent" }}
  command: [python3, -m, model_gateway]
  envFrom:
    # the store's address (OMA_STORE_URL) and the models people may choose (OMA_MODELS)
    - configMapRef:
        name: oh-my-agent-settings
  env:
    # What JupyterHub gives a service it starts itself, for one it does not. No
    # API token: the gateway asks the hub about a caller's token with that token.
    - name: JUPYTERHUB_SERVICE_NAME
      value: model-gateway
    - name: JUPYTERHUB_SERVICE_URL
      value: "http://0.0.0.0:{{ $gateway.port }}"
    - name: JUPYTERHUB_API_URL
      value: "http://{{ include "jupyterhub.hub.fullname" . }}:8081/hub/api"
    - name: OMA_GATEWAY_UPSTREAM
      value: {{ $gateway.upstream | quote }}
    {{- if eq $gateway.upstream "vertex" }}
    - name: CLAUDE_CODE_USE_VERTEX
      value: "1"
    - name: ANTHROPIC_VERTEX_PROJECT_ID
      value: {{ $gateway.vertex.projectId | quote }}
    - name: CLOUD_ML_REGION
      value: {{ $gateway.vertex.region | quote }}
    {{- else }}
    {{- with $gateway.anthropic.existingSecret }}
    - name: ANTHROPIC_API_KEY
      valueFrom:
        secretKeyRef:
          name: {{ . | quote }}
          key: {{ $gateway.anthropic.apiKeyKey | quote }}
    {{- end }}
    {{- with $gateway.anthropic.baseUrl }}
    - name: ANTHROPIC_BASE_URL
      value: {{ . | quote }}
    {{- end }}
    {{- end }}
    {{- with $gateway.prices }}
    - name: OMA_GATEWAY_PRICES
      value: {{ toJson . | quote }}
    {{- end }}
    {{- range $name, $value := $gateway.settings }}
    - name: {{ $name }}
      value: {{ $value | quote }}
    {{- end }}
  ports:
    - name: gateway
      containerPort: {{ $gateway.port }}
      protocol: TCP
  # /health answers without a token and says only which upstream it uses.
  readinessProbe:
    httpGet:
      path: /health
      port: gateway
    periodSeconds: 5
  livenessProbe:
    httpGet:
      path: /health
      port: gateway
    initialDelaySeconds: 10
    periodSeconds: 20
    failureThreshold: 3
  lifecycle:
    # The gateway cuts answers in flight at SIGTERM (Claude Code retries them): a few
    # seconds first, while the Service stops sending it new requests.
    preStop:
      sleep:
        seconds: 5
  resources:
    {{- toYaml $gateway.resources | nindent 4 }}
  securityContext:
    runAsNonRoot: true
    runAsUser: 1000
    runAsGroup: 1000
    allowPrivilegeEscalation: false
    readOnlyRootFilesystem: true
    capabilities:
      drop: [ALL]
    seccompProfile:
      type: RuntimeDefault
  {{- if eq (include "oh-my-agent.gatewayBesideAgents" .) "true" }}
  volumeMounts:
    - name: store
      mountPath: /var/lib/oh-my-agent
  {{- end }}
{{- end }}

{{- define "oh-my-agent.publicUrl" -}}
{{- if .Values.domain -}}
https://{{ .Values.domain }}
{{- else -}}
http://localhost:8080
{{- end -}}
{{- end }}

{{- define "oh-my-agent.image" -}}
{{- if hasPrefix "sha256:" .tag -}}
{{ .name }}@{{ .tag }}
{{- else -}}
{{ .name }}:{{ .tag }}
{{- end -}}
{{- end }}

{{- /* KubeSpawner's byte units (K, M, G, T: powers of 1024) as a number of bytes. */}}
{{- define "oh-my-agent.bytes" -}}
{{- $unit := dict "K" 1024.0 "M" 1048576.0 "G" 1073741824.0 "T" 1099511627776.0 -}}
{{- mulf (trimSuffix (regexFind "[KMGT]$" .) . | float64) (get $unit (regexFind "[KMGT]$" .)) -}}
{{- end }}

{{- /*
  What values.schema.json cannot see: how this chart's values and z2jh's fit
  together. Each failure names the value to change.
*/}}
{{- define "oh-my-agent.checks" -}}
{{- $z2jh := .Values.jupyterhub }}
{{- $user := .Values.userServers }}
{{- if gt (float64 $user.cpu.request) (float64 $user.cpu.limit) }}
{{- fail (printf "userServers.cpu.request (%v) must not exceed userServers.cpu.limit (%v)" $user.cpu.request $user.cpu.limit) }}
{{- end }}
{{- if gt (include "oh-my-agent.bytes" $user.memory.request | float64) (include "oh-my-agent.bytes" $user.memory.limit | float64) }}
{{- fail (printf "userServers.memory.request (%s) must not exceed userServers.memory.limit (%s)" $user.memory.request $user.memory.limit) }}
{{- end }}
{{- if not (eq (toString $z2jh.fullnameOverride) "") }}
{{- fail "jupyterhub.fullnameOverride must stay \"\": oh-my-agent refers to z2jh's objects by their default names (hub, proxy-public)" }}
{{- end }}
{{- if ne $z2jh.hub.baseUrl "/" }}
{{- fail "jupyterhub.hub.baseUrl must stay /: oh-my-agent serves the platform at the root of its domain (the agents service's and user servers' addresses assume it)" }}
{{- end }}
{{- if $z2jh.singleuser.cloudMetadata.blockWithIptables }}
{{- fail "jupyterhub.singleuser.cloudMetadata.blockWithIptables must be false: GKE Autopilot refuses its privileged init container, and networkPolicy.enabled keeps user pods from the metadata server instead" }}
{{- end }}
{{- $volumes := list }}
{{- range $z2jh.hub.extraVolumes }}{{ if .configMap }}{{ $volumes = append $volumes .configMap.name }}{{ end }}{{ end }}
{{- range list "oh-my-agent-hub-config" "oh-my-agent-settings" }}
{{- if not (has . $volumes) }}
{{- fail (printf "jupyterhub.hub.extraVolumes must keep the volume of the ConfigMap %s (and jupyterhub.hub.extraVolumeMounts its mount): it carries oh-my-agent's hub configuration" .) }}
{{- end }}
{{- end }}
{{- if not (hasKey $z2jh.hub.services "agents") }}
{{- fail "jupyterhub.hub.services must keep the entry agents: z2jh makes the agents service's API token from it" }}
{{- end }}
{{- if and (eq .Values.modelGateway.upstream "vertex") (not .Values.modelGateway.vertex.projectId) }}
{{- fail "modelGateway.vertex.projectId must be set while modelGateway.upstream is vertex: the Google Cloud project the model is billed to" }}
{{- end }}
{{- if and .Values.modelGateway.googleServiceAccount (not .Values.store.url) }}
{{- fail "modelGateway.googleServiceAccount needs store.url: with the SQLite store the gateway runs in the agents service's pod, as its Google identity (workloadIdentity.googleServiceAccount)" }}
{{- end }}
{{- if $z2jh.proxy.https.enabled }}
{{- if and .Values.ingress.enabled .Values.domain }}
{{- fail "jupyterhub.proxy.https.enabled (z2jh's autohttps) and ingress.enabled (the GKE Ingress) both terminate HTTPS for domain: turn one off" }}
{{- end }}
{{- if not (has .Values.domain $z2jh.proxy.https.hosts) }}
{{- fail (printf "jupyterhub.proxy.https.hosts must include domain (%s): it is the address people open and Google's callback" .Values.domain) }}
{{- end }}
{{- end }}
{{- if and .Values.ingress.enabled .Values.domain }}
{{- $annotation := index $z2jh.proxy.service.annotations "cloud.google.com/backend-config" | default "" }}
{{- if not (contains "\"proxy-public\"" $annotation) }}
{{- fail "jupyterhub.proxy.service.annotations.cloud.google.com/backend-config must name the BackendConfig proxy-public ({\"default\": \"proxy-public\"}) while ingress.enabled: without it the load balancer's health check fails and WebSockets are cut after 30 s" }}
{{- end }}
{{- end }}
{{- end }}
