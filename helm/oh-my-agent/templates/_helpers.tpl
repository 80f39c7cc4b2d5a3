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
