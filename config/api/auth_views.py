"""POST /api/auth/login and /api/auth/refresh (SPEC §4.2), in the envelope."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer, TokenRefreshSerializer

from .envelope import ok


class LoginApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "LoginInput"

        username = serializers.CharField()
        password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)

    @extend_schema(
        operation_id="auth_login",
        request=InputSerializer,
        responses={
            200: inline_serializer(
                "LoginResponse",
                {
                    "success": serializers.BooleanField(),
                    "access": serializers.CharField(),
                    "refresh": serializers.CharField(),
                    "data": inline_serializer(
                        "LoginTokens", {"access": serializers.CharField(), "refresh": serializers.CharField()}
                    ),
                },
            )
        },
        examples=[OpenApiExample("Login", value={"username": "erp", "password": "secret"}, request_only=True)],
        auth=[],
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        serializer = TokenObtainPairSerializer(data=data.validated_data)
        try:
            serializer.is_valid(raise_exception=True)
        except (AuthenticationFailed, serializers.ValidationError, TokenError) as exc:
            raise AuthenticationFailed("Invalid username or password") from exc
        tokens = {"access": serializer.validated_data["access"], "refresh": serializer.validated_data["refresh"]}
        return ok(tokens, message="Login successful", **tokens)


class RefreshApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "RefreshInput"

        refresh = serializers.CharField()

    @extend_schema(
        operation_id="auth_refresh",
        request=InputSerializer,
        responses={
            200: inline_serializer(
                "RefreshResponse",
                {
                    "success": serializers.BooleanField(),
                    "access": serializers.CharField(),
                    "data": inline_serializer("RefreshToken", {"access": serializers.CharField()}),
                },
            )
        },
        auth=[],
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        serializer = TokenRefreshSerializer(data=data.validated_data)
        try:
            serializer.is_valid(raise_exception=True)
        except TokenError as exc:
            raise AuthenticationFailed("Invalid or expired refresh token") from exc
        tokens = {"access": serializer.validated_data["access"]}
        if "refresh" in serializer.validated_data:
            tokens["refresh"] = serializer.validated_data["refresh"]
        return ok(tokens, message="Token refreshed", **tokens)
