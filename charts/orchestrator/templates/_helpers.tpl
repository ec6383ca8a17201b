{{/*
Names, labels, images and file references shared by every template.
*/}}

{{/* Chart name, or nameOverride. */}}
{{- define "orchestrator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name prefixing every object: release name, plus the chart name unless it already contains it. */}}
{{- define "orchestrator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "orchestrator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Name of a DNS-label object "<fullname>-<suffix>"; fails rather than truncating, because other
systems (the peer's connection.json, backends) are configured with these names. */}}
{{- define "orchestrator.objectName" -}}
{{- $name := printf "%s-%s" (include "orchestrator.fullname" .root) .suffix | lower | replace "_" "-" | replace "." "-" }}
{{- if gt (len $name) 63 }}
{{- fail (printf "%s: the object name %q is longer than 63 characters; shorten the release name or set fullnameOverride" .field $name) }}
{{- end }}
{{- $name }}
{{- end }}

{{- define "orchestrator.gateway.name" -}}
{{- include "orchestrator.objectName" (dict "root" . "suffix" "gateway" "field" "fullnameOverride") }}
{{- end }}

{{- define "orchestrator.forwarder.name" -}}
{{- include "orchestrator.objectName" (dict "root" . "suffix" "forwarder" "field" "fullnameOverride") }}
{{- end }}

{{/* Chaincode object name; dict: root, name (the chaincode name), index. */}}
{{- define "orchestrator.chaincode.name" -}}
{{- include "orchestrator.objectName" (dict "root" .root "suffix" (printf "chaincode-%s" .name) "field" (printf "chaincodes[%d].name" .index)) }}
{{- end }}

{{/* Init job name; dict: root, channel, chaincode. Job names become pod labels, hence at most 63
characters: long ones keep a hash of the full name. */}}
{{- define "orchestrator.initJob.name" -}}
{{- $name := printf "%s-init-%s-%s" (include "orchestrator.fullname" .root) .channel .chaincode | lower | replace "_" "-" | replace "." "-" }}
{{- if gt (len $name) 63 }}
{{- $name = printf "%s-%s" ($name | trunc 52 | trimSuffix "-") ($name | sha256sum | trunc 10) }}
{{- end }}
{{- $name }}
{{- end }}

{{- define "orchestrator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "orchestrator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Selector labels; dict: root, component, and optionally channel and chaincode. */}}
{{- define "orchestrator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "orchestrator.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- with .channel }}
orchestrator.substra.org/channel: {{ . | quote }}
{{- end }}
{{- with .chaincode }}
orchestrator.substra.org/chaincode: {{ . | quote }}
{{- end }}
{{- end }}

{{/* The recommended app.kubernetes.io labels; dict: root, component, and optionally channel and chaincode. */}}
{{- define "orchestrator.labels" -}}
{{ include "orchestrator.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: {{ .root.Values.partOf }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ include "orchestrator.chart" .root }}
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Image reference; dict: root, image. */}}
{{- define "orchestrator.image" -}}
{{- $repository := .image.repository }}
{{- with .root.Values.imageRegistry }}
{{- $repository = printf "%s/%s" (trimSuffix "/" .) $repository }}
{{- end }}
{{- $reference := printf "%s:%s" $repository (default .root.Chart.AppVersion .image.tag) }}
{{- with .image.digest }}
{{- $reference = printf "%s@%s" $reference . }}
{{- end }}
{{- $reference }}
{{- end }}

{{/* Pod-level settings shared by every pod. */}}
{{- define "orchestrator.podSpecCommon" -}}
serviceAccountName: {{ include "orchestrator.serviceAccountName" . }}
automountServiceAccountToken: false
enableServiceLinks: false
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
{{- toYaml . | nindent 0 }}
{{- end }}
{{- with .Values.podSecurityContext }}
securityContext:
{{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* Scheduling settings of a component; the argument is the component's values. */}}
{{- define "orchestrator.scheduling" -}}
{{- with .nodeSelector }}
nodeSelector:
{{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
{{- toYaml . | nindent 0 }}
{{- end }}
{{- with .affinity }}
affinity:
{{- toYaml . | nindent 2 }}
{{- end }}
{{- with .topologySpreadConstraints }}
topologySpreadConstraints:
{{- toYaml . | nindent 0 }}
{{- end }}
{{- end }}

{{/*
File references. A reference is {secretName, key} (an existing Secret) or {value} (the PEM
text, stored in the chart's "<fullname>-files" Secret); value wins. Each template below lists
the files of one mount as entries {path, ref}: path inside the mount, ref the reference.
*/}}

{{- define "orchestrator.isSet" -}}
{{- if and . (or .value .secretName) }}true{{ end }}
{{- end }}

{{/* Files of the Fabric connection (gateway in fabric mode, init jobs), mounted at /etc/orchestrator/fabric. */}}
{{- define "orchestrator.fabricFiles" -}}
{{- $f := .Values.fabric }}
- {path: identity/cert.pem, ref: {{ toJson $f.identity.certificate }}}
- {path: identity/key.pem, ref: {{ toJson $f.identity.key }}}
- {path: peer/tls-ca.pem, ref: {{ toJson $f.peerTLS.ca }}}
{{- if $f.peerTLS.clientAuth.enabled }}
- {path: peer/client.crt, ref: {{ toJson $f.peerTLS.clientAuth.certificate }}}
- {path: peer/client.key, ref: {{ toJson $f.peerTLS.clientAuth.key }}}
{{- end }}
{{- end }}

{{/* Files of the gateway's own TLS, mounted at /etc/orchestrator/tls. */}}
{{- define "orchestrator.gatewayTLSFiles" -}}
{{- $tls := .Values.gateway.tls }}
{{- if $tls.enabled }}
- {path: tls.crt, ref: {{ toJson $tls.certificate }}}
- {path: tls.key, ref: {{ toJson $tls.key }}}
{{- if $tls.clientAuth.enabled }}
{{- range $i, $ca := $tls.clientAuth.cas }}
- {path: {{ printf "client-ca-%d.pem" $i }}, ref: {{ toJson $ca }}}
{{- end }}
{{- range $tls.clientAuth.orgCAs }}
- {path: {{ printf "org-ca-%s.pem" .mspid }}, ref: {{ toJson .certificate }}}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/* Files of the chaincode servers, mounted at /etc/orchestrator-chaincode/tls. */}}
{{- define "orchestrator.chaincodeFiles" -}}
{{- $tls := .Values.chaincode.tls }}
{{- if $tls.enabled }}
- {path: tls.crt, ref: {{ toJson $tls.certificate }}}
- {path: tls.key, ref: {{ toJson $tls.key }}}
{{- if include "orchestrator.isSet" $tls.clientCA }}
- {path: client-ca.crt, ref: {{ toJson $tls.clientCA }}}
{{- end }}
{{- end }}
{{- end }}

{{/* Files of the forwarder (TLS towards the gateway, the broker's CA), mounted at /etc/orchestrator-forwarder/tls. */}}
{{- define "orchestrator.forwarderFiles" -}}
{{- $fw := .Values.forwarder }}
{{- if $fw.enabled }}
{{- if include "orchestrator.isSet" $fw.gatewayTLS.ca }}
- {path: gateway-ca.pem, ref: {{ toJson $fw.gatewayTLS.ca }}}
{{- end }}
{{- if include "orchestrator.isSet" $fw.gatewayTLS.certificate }}
- {path: client.crt, ref: {{ toJson $fw.gatewayTLS.certificate }}}
- {path: client.key, ref: {{ toJson $fw.gatewayTLS.key }}}
{{- end }}
{{- if include "orchestrator.isSet" $fw.amqp.ca }}
- {path: amqp-ca.pem, ref: {{ toJson $fw.amqp.ca }}}
{{- end }}
{{- end }}
{{- end }}

{{/* Key of an inline file in the "<fullname>-files" Secret; dict: mount, path. */}}
{{- define "orchestrator.inlineKey" -}}
{{- printf "%s-%s" .mount .path | replace "/" "-" }}
{{- end }}

{{/* Sources of a projected volume holding a list of files; dict: root, mount, files. */}}
{{- define "orchestrator.projectedSources" -}}
{{- $secretName := printf "%s-files" (include "orchestrator.fullname" .root) }}
{{- range .files }}
{{- if .ref.value }}
- secret:
    name: {{ $secretName }}
    items:
    - key: {{ include "orchestrator.inlineKey" (dict "mount" $.mount "path" .path) }}
      path: {{ .path }}
{{- else }}
- secret:
    name: {{ .ref.secretName }}
    items:
    - key: {{ .ref.key }}
      path: {{ .path }}
{{- end }}
{{- end }}
{{- end }}

{{/* Every inline file of the release, as {key: value}. */}}
{{- define "orchestrator.inlineFiles" -}}
{{- $mounts := dict "tls" (include "orchestrator.gatewayTLSFiles" . | fromYamlArray) }}
{{- $_ := set $mounts "forwarder" (include "orchestrator.forwarderFiles" . | fromYamlArray) }}
{{- if eq .Values.mode "fabric" }}
{{- $_ := set $mounts "fabric" (include "orchestrator.fabricFiles" . | fromYamlArray) }}
{{- if .Values.chaincode.enabled }}
{{- $_ := set $mounts "chaincode" (include "orchestrator.chaincodeFiles" . | fromYamlArray) }}
{{- end }}
{{- end }}
{{- $data := dict }}
{{- range $mount, $files := $mounts }}
{{- range $files }}
{{- if .ref.value }}
{{- $_ := set $data (include "orchestrator.inlineKey" (dict "mount" $mount "path" .path)) .ref.value }}
{{- end }}
{{- end }}
{{- end }}
{{- toJson $data }}
{{- end }}

{{/* Mount paths. */}}
{{- define "orchestrator.configDir" -}}/etc/orchestrator/config{{- end }}
{{- define "orchestrator.fabricDir" -}}/etc/orchestrator/fabric{{- end }}
{{- define "orchestrator.tlsDir" -}}/etc/orchestrator/tls{{- end }}
{{- define "orchestrator.dataDir" -}}/var/lib/orchestrator{{- end }}
{{- define "orchestrator.chaincodeTLSDir" -}}/etc/orchestrator-chaincode/tls{{- end }}
{{- define "orchestrator.forwarderTLSDir" -}}/etc/orchestrator-forwarder/tls{{- end }}
{{- define "orchestrator.forwarderStateDir" -}}/var/lib/orchestrator-forwarder{{- end }}

{{/* The gateway configuration file (channels; in fabric mode the organization's identity and peers). */}}
{{- define "orchestrator.gatewayConfig" -}}
{{- $channels := dict }}
{{- range .Values.channels }}
{{- $_ := set $channels .name (dict "organizations" .organizations "chaincodes" (default (list) .chaincodes)) }}
{{- end }}
{{- $config := dict "channels" $channels }}
{{- if eq .Values.mode "fabric" }}
{{- $dir := include "orchestrator.fabricDir" . }}
{{- $f := .Values.fabric }}
{{- $peers := list }}
{{- range $f.peers }}
{{- $peer := dict "address" .address "tls_ca" (printf "%s/peer/tls-ca.pem" $dir) }}
{{- with .serverNameOverride }}
{{- $_ := set $peer "server_name_override" . }}
{{- end }}
{{- if $f.peerTLS.clientAuth.enabled }}
{{- $_ := set $peer "tls_client_certificate" (printf "%s/peer/client.crt" $dir) }}
{{- $_ := set $peer "tls_client_key" (printf "%s/peer/client.key" $dir) }}
{{- end }}
{{- $peers = append $peers $peer }}
{{- end }}
{{- $identity := dict "certificate" (printf "%s/identity/cert.pem" $dir) "key" (printf "%s/identity/key.pem" $dir) }}
{{- $_ := set $config "organizations" (dict $f.mspid (dict "identity" $identity "peers" $peers)) }}
{{- end }}
{{- toYaml $config }}
{{- end }}

{{/* Volumes and mounts for the configuration and the Fabric files (gateway and init jobs). */}}
{{- define "orchestrator.configVolumes" -}}
- name: config
  configMap:
    name: {{ include "orchestrator.gateway.name" . }}
{{- if eq .Values.mode "fabric" }}
- name: fabric
  projected:
    defaultMode: 0440
    sources:
    {{- include "orchestrator.projectedSources" (dict "root" . "mount" "fabric" "files" (include "orchestrator.fabricFiles" . | fromYamlArray)) | trim | nindent 4 }}
{{- end }}
{{- end }}

{{- define "orchestrator.configMounts" -}}
- name: config
  mountPath: {{ include "orchestrator.configDir" . }}
  readOnly: true
{{- if eq .Values.mode "fabric" }}
- name: fabric
  mountPath: {{ include "orchestrator.fabricDir" . }}
  readOnly: true
{{- end }}
{{- end }}

{{/* A probe's timings; the argument is the probe's values. */}}
{{- define "orchestrator.probeTimings" -}}
periodSeconds: {{ .periodSeconds }}
timeoutSeconds: {{ .timeoutSeconds }}
failureThreshold: {{ .failureThreshold }}
{{- end }}
